/*
 * The ABI baseline: the exact C signature of every exported function of
 * libbaracuda_flashinfer.so.0, one function-pointer type per symbol of abi/exports.txt (same
 * groups). abi/check_signatures.sh (test test_abi_signatures) assigns each function declared in
 * include/baracuda/flashinfer.h to its type here, compiled as C99 with -Werror: a changed return
 * type, parameter type, qualifier or parameter count fails to compile, and a symbol here but not
 * exported (or the reverse) fails the test.
 *
 * A stable symbol's entry never changes within one SOVERSION. An experimental symbol's
 * (abi/exports.txt, docs/ABI.md) may change, deliberately: edit its entry with the header.
 * A new symbol: add its entry here, in abi/exports.txt and in the header.
 */
#ifndef BARACUDA_FLASHINFER_ABI_SIGNATURES_H_
#define BARACUDA_FLASHINFER_ABI_SIGNATURES_H_

#include <stddef.h>
#include <stdint.h>

/* The stream type as the header declares it (struct CUstream_st*); an incompatible change of the
   header's typedef fails the check too. */
typedef struct CUstream_st* bfi_abi_stream_t;
/* The versioned structs, by their tags (incomplete here: only pointers to them are passed). */
typedef struct baracuda_flashinfer_attention_options bfi_abi_attention_options;
typedef struct baracuda_flashinfer_decode_schedule bfi_abi_decode_schedule;

/* ---- core ---- */
typedef const char* (*bfi_abi_last_error)(void);
typedef const char* (*bfi_abi_status_string)(int32_t status);
typedef uint32_t (*bfi_abi_version)(void);
typedef const char* (*bfi_abi_version_string)(void);

/* ---- decode ---- */
typedef int32_t (*bfi_abi_paged_decode_bf16_can_implement)(int32_t batch_size, int32_t page_size,
                                                           int32_t head_dim, int32_t num_qo_heads,
                                                           int32_t num_kv_heads, float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_bf16_e4m3_can_implement)(int32_t batch_size,
                                                                int32_t page_size, int32_t head_dim,
                                                                int32_t num_qo_heads,
                                                                int32_t num_kv_heads,
                                                                float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_bf16_e4m3_run)(
    int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices, void* indptr,
    void* last_page_len, const void* q, void* o, void* lse, void* workspace, size_t workspace_bytes,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_bf16_e5m2_can_implement)(int32_t batch_size,
                                                                int32_t page_size, int32_t head_dim,
                                                                int32_t num_qo_heads,
                                                                int32_t num_kv_heads,
                                                                float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_bf16_e5m2_run)(
    int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices, void* indptr,
    void* last_page_len, const void* q, void* o, void* lse, void* workspace, size_t workspace_bytes,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_bf16_run)(int32_t batch_size, int32_t page_size,
                                                 int32_t head_dim, int32_t num_qo_heads,
                                                 int32_t num_kv_heads, float sm_scale, void* k_data,
                                                 void* v_data, void* indices, void* indptr,
                                                 void* last_page_len, const void* q, void* o,
                                                 void* lse, void* workspace, size_t workspace_bytes,
                                                 bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_can_implement)(int32_t batch_size, int32_t num_qo_heads,
                                                      int32_t num_kv_heads, int32_t head_dim,
                                                      int32_t page_size, int32_t element);
typedef int32_t (*bfi_abi_paged_decode_f16_can_implement)(int32_t batch_size, int32_t page_size,
                                                          int32_t head_dim, int32_t num_qo_heads,
                                                          int32_t num_kv_heads, float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_f16_e4m3_can_implement)(int32_t batch_size,
                                                               int32_t page_size, int32_t head_dim,
                                                               int32_t num_qo_heads,
                                                               int32_t num_kv_heads,
                                                               float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_f16_e4m3_run)(
    int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices, void* indptr,
    void* last_page_len, const void* q, void* o, void* lse, void* workspace, size_t workspace_bytes,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_f16_e5m2_can_implement)(int32_t batch_size,
                                                               int32_t page_size, int32_t head_dim,
                                                               int32_t num_qo_heads,
                                                               int32_t num_kv_heads,
                                                               float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_f16_e5m2_run)(
    int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices, void* indptr,
    void* last_page_len, const void* q, void* o, void* lse, void* workspace, size_t workspace_bytes,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_f16_run)(int32_t batch_size, int32_t page_size,
                                                int32_t head_dim, int32_t num_qo_heads,
                                                int32_t num_kv_heads, float sm_scale, void* k_data,
                                                void* v_data, void* indices, void* indptr,
                                                void* last_page_len, const void* q, void* o,
                                                void* lse, void* workspace, size_t workspace_bytes,
                                                bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_f32_can_implement)(int32_t batch_size, int32_t page_size,
                                                          int32_t head_dim, int32_t num_qo_heads,
                                                          int32_t num_kv_heads, float sm_scale);
typedef int32_t (*bfi_abi_paged_decode_f32_run)(int32_t batch_size, int32_t page_size,
                                                int32_t head_dim, int32_t num_qo_heads,
                                                int32_t num_kv_heads, float sm_scale, void* k_data,
                                                void* v_data, void* indices, void* indptr,
                                                void* last_page_len, const void* q, void* o,
                                                void* lse, void* workspace, size_t workspace_bytes,
                                                bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_get_workspace_size)(int32_t batch_size, int32_t num_qo_heads,
                                                           int32_t num_kv_heads, int32_t head_dim,
                                                           int32_t page_size, int32_t element,
                                                           size_t* workspace_bytes);
typedef int32_t (*bfi_abi_paged_decode_run_with)(int32_t element, int32_t flags, int32_t batch_size,
                                                 int32_t page_size, int32_t head_dim,
                                                 int32_t num_qo_heads, int32_t num_kv_heads,
                                                 float sm_scale, void* k_data, void* v_data,
                                                 void* indices, void* indptr, void* last_page_len,
                                                 const void* q, void* o, void* lse, void* workspace,
                                                 size_t workspace_bytes, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_decode_run_with_can_implement)(int32_t element, int32_t flags,
                                                               int32_t batch_size,
                                                               int32_t page_size, int32_t head_dim,
                                                               int32_t num_qo_heads,
                                                               int32_t num_kv_heads);
typedef size_t (*bfi_abi_paged_decode_workspace_size)(int32_t batch_size);
typedef int32_t (*bfi_abi_cascade_decode_can_implement)(int32_t batch_size, int32_t num_qo_heads,
                                                        int32_t num_kv_heads, int32_t head_dim,
                                                        int32_t page_size, int32_t element);
typedef int32_t (*bfi_abi_cascade_decode_get_workspace_size)(int32_t batch_size,
                                                             int32_t num_qo_heads,
                                                             int32_t num_kv_heads, int32_t head_dim,
                                                             int32_t page_size, int32_t element,
                                                             size_t* workspace_bytes);
typedef int32_t (*bfi_abi_cascade_decode_run)(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,
    void* prefix_indptr, void* prefix_last_page_len, void* suffix_indptr,
    void* suffix_last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_cascade_decode_dense_prefix_can_implement)(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element);
typedef int32_t (*bfi_abi_cascade_decode_dense_prefix_get_workspace_size)(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);
typedef int32_t (*bfi_abi_cascade_decode_dense_prefix_run)(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, const void* k_prefix, const void* v_prefix,
    int32_t prefix_len, int64_t prefix_stride_token, int64_t prefix_stride_head, void* k_data,
    void* v_data, void* indices, void* suffix_indptr, void* suffix_last_page_len, const void* q,
    void* o, void* lse, void* workspace, size_t workspace_bytes, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_shared_prefix_decode_can_implement)(int32_t batch_size,
                                                              int32_t num_qo_heads,
                                                              int32_t num_kv_heads,
                                                              int32_t head_dim, int32_t page_size,
                                                              int32_t element);
typedef int32_t (*bfi_abi_shared_prefix_decode_get_workspace_size)(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* workspace_bytes);
typedef int32_t (*bfi_abi_shared_prefix_decode_run)(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* prefix_indices,
    void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, bfi_abi_stream_t stream);

typedef int32_t (*bfi_abi_paged_decode_describe)(int32_t element, int32_t flags, int32_t batch_size,
                                                 int32_t page_size, int32_t head_dim,
                                                 int32_t num_qo_heads, int32_t num_kv_heads,
                                                 size_t workspace_bytes, bfi_abi_stream_t stream,
                                                 bfi_abi_decode_schedule* schedule);
typedef int32_t (*bfi_abi_paged_decode_ex_can_implement)(int32_t element, int32_t flags,
                                                         int32_t batch_size, int32_t page_size,
                                                         int32_t head_dim, int32_t num_qo_heads,
                                                         int32_t num_kv_heads, float sm_scale,
                                                         const bfi_abi_attention_options* options);
typedef int32_t (*bfi_abi_paged_decode_ex_get_workspace_size)(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, const bfi_abi_attention_options* options,
    size_t* workspace_bytes);
typedef int32_t (*bfi_abi_paged_decode_run_ex)(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale,
    const bfi_abi_attention_options* options, void* k_data, void* v_data, void* indices,
    void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_shared_prefix_decode_run_with)(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* prefix_indices, void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o,
    void* lse, void* workspace, size_t workspace_bytes, bfi_abi_stream_t stream);

/* ---- prefill ---- */
typedef void (*bfi_abi_attention_options_init)(bfi_abi_attention_options* options);
typedef int32_t (*bfi_abi_prefill_paged_can_implement)(int32_t element, int32_t batch_size,
                                                       int32_t max_q_rows, int32_t page_size,
                                                       int32_t head_dim, int32_t num_qo_heads,
                                                       int32_t num_kv_heads, float sm_scale,
                                                       int32_t causal,
                                                       const bfi_abi_attention_options* options);
typedef int32_t (*bfi_abi_prefill_paged_get_workspace_size)(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const bfi_abi_attention_options* options, size_t* workspace_bytes);
typedef int32_t (*bfi_abi_prefill_paged_run)(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const bfi_abi_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k_data, const void* v_data, const int32_t* kv_indices, const int32_t* kv_indptr,
    const int32_t* last_page_len, void* o, float* lse, void* workspace, size_t workspace_bytes,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_prefill_ragged_can_implement)(int32_t element, int32_t batch_size,
                                                        int32_t max_q_rows, int32_t max_kv_rows,
                                                        int32_t head_dim, int32_t num_qo_heads,
                                                        int32_t num_kv_heads, float sm_scale,
                                                        int32_t causal,
                                                        const bfi_abi_attention_options* options);
typedef int32_t (*bfi_abi_prefill_ragged_get_workspace_size)(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const bfi_abi_attention_options* options, size_t* workspace_bytes);
typedef int32_t (*bfi_abi_prefill_ragged_run)(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const bfi_abi_attention_options* options, const void* q, const int32_t* q_indptr, const void* k,
    const void* v, const int32_t* kv_indptr, void* o, float* lse, void* workspace,
    size_t workspace_bytes, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_prefill_f16_run)(int32_t batch_size, int32_t total_num_rows,
                                                 int32_t page_size, int32_t head_dim,
                                                 int32_t num_qo_heads, int32_t num_kv_heads,
                                                 float sm_scale, int32_t causal,
                                                 int32_t enable_split, void* k_data, void* v_data,
                                                 void* kv_indices, void* kv_indptr,
                                                 void* last_page_len, const void* q, void* q_indptr,
                                                 void* o, void* lse, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_prefill_f16_can_implement)(int32_t batch_size,
                                                           int32_t total_num_rows,
                                                           int32_t page_size, int32_t head_dim,
                                                           int32_t num_qo_heads,
                                                           int32_t num_kv_heads, float sm_scale,
                                                           int32_t causal, int32_t enable_split);
typedef int32_t (*bfi_abi_ragged_prefill_f16_run)(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    int32_t enable_split, const void* k_data, const void* v_data, void* kv_indptr, const void* q,
    void* q_indptr, void* o, void* lse, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_ragged_prefill_f16_can_implement)(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal);
typedef int32_t (*bfi_abi_paged_prefill_bf16_run)(
    int32_t batch_size, int32_t total_num_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    int32_t enable_split, void* k_data, void* v_data, void* kv_indices, void* kv_indptr,
    void* last_page_len, const void* q, void* q_indptr, void* o, void* lse,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_prefill_bf16_can_implement)(int32_t batch_size,
                                                            int32_t total_num_rows,
                                                            int32_t page_size, int32_t head_dim,
                                                            int32_t num_qo_heads,
                                                            int32_t num_kv_heads, float sm_scale,
                                                            int32_t causal, int32_t enable_split);
typedef int32_t (*bfi_abi_ragged_prefill_bf16_run)(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    int32_t enable_split, const void* k_data, const void* v_data, void* kv_indptr, const void* q,
    void* q_indptr, void* o, void* lse, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_ragged_prefill_bf16_can_implement)(
    int32_t batch_size, int32_t total_num_rows, int32_t total_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal);
typedef int32_t (*bfi_abi_paged_prefill_can_implement)(int32_t batch_size, int32_t total_num_rows,
                                                       int32_t page_size, int32_t head_dim,
                                                       int32_t num_qo_heads, int32_t num_kv_heads);
typedef int32_t (*bfi_abi_ragged_prefill_can_implement)(int32_t batch_size, int32_t total_num_rows,
                                                        int32_t total_kv_rows, int32_t head_dim,
                                                        int32_t num_qo_heads, int32_t num_kv_heads);

/* ---- append ---- */
typedef int32_t (*bfi_abi_paged_kv_append_bf16_can_implement)(int32_t num_tokens,
                                                              int32_t batch_size, int32_t page_size,
                                                              int32_t num_heads, int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_bf16_run)(
    int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim,
    void* k_data, void* v_data, const void* indices, const void* indptr, const void* batch_indices,
    const void* positions, const void* key, const void* value, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_kv_append_can_implement)(int32_t num_tokens, int32_t batch_size,
                                                         int32_t page_size, int32_t num_heads,
                                                         int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_decode_bf16_can_implement)(int32_t batch_size,
                                                                     int32_t page_size,
                                                                     int32_t num_heads,
                                                                     int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_decode_bf16_run)(
    int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim, void* k_data,
    void* v_data, void* indices, void* indptr, void* last_page_len, const void* key,
    const void* value, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_kv_append_decode_can_implement)(int32_t batch_size,
                                                                int32_t page_size,
                                                                int32_t num_heads,
                                                                int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_decode_f16_can_implement)(int32_t batch_size,
                                                                    int32_t page_size,
                                                                    int32_t num_heads,
                                                                    int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_decode_f16_run)(int32_t batch_size, int32_t page_size,
                                                          int32_t num_heads, int32_t head_dim,
                                                          void* k_data, void* v_data, void* indices,
                                                          void* indptr, void* last_page_len,
                                                          const void* key, const void* value,
                                                          bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_kv_append_decode_f32_can_implement)(int32_t batch_size,
                                                                    int32_t page_size,
                                                                    int32_t num_heads,
                                                                    int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_decode_f32_run)(int32_t batch_size, int32_t page_size,
                                                          int32_t num_heads, int32_t head_dim,
                                                          void* k_data, void* v_data, void* indices,
                                                          void* indptr, void* last_page_len,
                                                          const void* key, const void* value,
                                                          bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_kv_append_f16_can_implement)(int32_t num_tokens, int32_t batch_size,
                                                             int32_t page_size, int32_t num_heads,
                                                             int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_f16_run)(
    int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim,
    void* k_data, void* v_data, const void* indices, const void* indptr, const void* batch_indices,
    const void* positions, const void* key, const void* value, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_paged_kv_append_f32_can_implement)(int32_t num_tokens, int32_t batch_size,
                                                             int32_t page_size, int32_t num_heads,
                                                             int32_t head_dim);
typedef int32_t (*bfi_abi_paged_kv_append_f32_run)(
    int32_t num_tokens, int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim,
    void* k_data, void* v_data, const void* indices, const void* indptr, const void* batch_indices,
    const void* positions, const void* key, const void* value, bfi_abi_stream_t stream);

/* ---- merge ---- */
typedef int32_t (*bfi_abi_merge_state_in_place_bf16_can_implement)(int32_t seq_len,
                                                                   int32_t num_heads,
                                                                   int32_t head_dim);
typedef int32_t (*bfi_abi_merge_state_in_place_bf16_run)(int32_t seq_len, int32_t num_heads,
                                                         int32_t head_dim, void* v, void* s,
                                                         const void* v_other, const void* s_other,
                                                         bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_state_in_place_can_implement)(int32_t seq_len, int32_t num_heads,
                                                              int32_t head_dim);
typedef int32_t (*bfi_abi_merge_state_in_place_f16_can_implement)(int32_t seq_len,
                                                                  int32_t num_heads,
                                                                  int32_t head_dim);
typedef int32_t (*bfi_abi_merge_state_in_place_f16_run)(int32_t seq_len, int32_t num_heads,
                                                        int32_t head_dim, void* v, void* s,
                                                        const void* v_other, const void* s_other,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_state_in_place_f32_can_implement)(int32_t seq_len,
                                                                  int32_t num_heads,
                                                                  int32_t head_dim);
typedef int32_t (*bfi_abi_merge_state_in_place_f32_run)(int32_t seq_len, int32_t num_heads,
                                                        int32_t head_dim, void* v, void* s,
                                                        const void* v_other, const void* s_other,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_bf16_can_implement)(int32_t num_index_sets, int32_t seq_len,
                                                           int32_t num_heads, int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_bf16_run)(int32_t num_index_sets, int32_t seq_len,
                                                 int32_t num_heads, int32_t head_dim, const void* v,
                                                 const void* s, void* v_merged, void* s_merged,
                                                 bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_can_implement)(int32_t num_index_sets, int32_t seq_len,
                                                      int32_t num_heads, int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_f16_can_implement)(int32_t num_index_sets, int32_t seq_len,
                                                          int32_t num_heads, int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_f16_run)(int32_t num_index_sets, int32_t seq_len,
                                                int32_t num_heads, int32_t head_dim, const void* v,
                                                const void* s, void* v_merged, void* s_merged,
                                                bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_f32_can_implement)(int32_t num_index_sets, int32_t seq_len,
                                                          int32_t num_heads, int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_f32_run)(int32_t num_index_sets, int32_t seq_len,
                                                int32_t num_heads, int32_t head_dim, const void* v,
                                                const void* s, void* v_merged, void* s_merged,
                                                bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_varlen_bf16_can_implement)(int32_t seq_len,
                                                                  int32_t num_heads,
                                                                  int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_varlen_bf16_run)(int32_t seq_len, int32_t num_heads,
                                                        int32_t head_dim, const void* v,
                                                        const void* s, const void* indptr,
                                                        void* v_merged, void* s_merged,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_varlen_can_implement)(int32_t seq_len, int32_t num_heads,
                                                             int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_varlen_f16_can_implement)(int32_t seq_len, int32_t num_heads,
                                                                 int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_varlen_f16_run)(int32_t seq_len, int32_t num_heads,
                                                       int32_t head_dim, const void* v,
                                                       const void* s, const void* indptr,
                                                       void* v_merged, void* s_merged,
                                                       bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_merge_states_varlen_f32_can_implement)(int32_t seq_len, int32_t num_heads,
                                                                 int32_t head_dim);
typedef int32_t (*bfi_abi_merge_states_varlen_f32_run)(int32_t seq_len, int32_t num_heads,
                                                       int32_t head_dim, const void* v,
                                                       const void* s, const void* indptr,
                                                       void* v_merged, void* s_merged,
                                                       bfi_abi_stream_t stream);

/* ---- sampling ---- */
typedef int32_t (*bfi_abi_chain_speculative_sampling_f32_can_implement)(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab);
typedef int32_t (*bfi_abi_chain_speculative_sampling_f32_ex)(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* draft_probs, const void* draft_token_ids, const void* target_probs,
    void* output_token_ids, void* output_accepted_token_num, void* output_emitted_draft_token_num,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_chain_speculative_sampling_f32_run)(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* draft_probs, const void* draft_token_ids,
    const void* target_probs, void* output_token_ids, void* output_accepted_token_num,
    void* output_emitted_draft_token_num, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_min_p_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_min_p_sampling_f32_arr_run)(int32_t batch, int32_t vocab,
                                                      const void* p_arr, int32_t deterministic,
                                                      uint64_t seed_val, uint64_t offset_val,
                                                      const void* probs, void* output, void* valid,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_min_p_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                            float p_val);
typedef int32_t (*bfi_abi_min_p_sampling_f32_ex)(int32_t batch, int32_t vocab, float p_val,
                                                 const void* p_arr, int32_t deterministic,
                                                 uint64_t seed_val, const void* seed_ptr,
                                                 uint64_t offset_val, void* offset_ptr,
                                                 const void* probs, void* output, void* valid,
                                                 bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_min_p_sampling_f32_run)(int32_t batch, int32_t vocab, float p_val,
                                                  int32_t deterministic, uint64_t seed_val,
                                                  uint64_t offset_val, const void* probs,
                                                  void* output, void* valid,
                                                  bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_bf16_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_sampling_from_logits_bf16_ex)(int32_t batch, int32_t vocab,
                                                        uint64_t seed_val, const void* seed_ptr,
                                                        uint64_t offset_val, void* offset_ptr,
                                                        const void* logits, void* output,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_bf16_run)(int32_t batch, int32_t vocab,
                                                         uint64_t seed_val, uint64_t offset_val,
                                                         const void* logits, void* output,
                                                         bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_f16_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_sampling_from_logits_f16_ex)(int32_t batch, int32_t vocab,
                                                       uint64_t seed_val, const void* seed_ptr,
                                                       uint64_t offset_val, void* offset_ptr,
                                                       const void* logits, void* output,
                                                       bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_f16_run)(int32_t batch, int32_t vocab,
                                                        uint64_t seed_val, uint64_t offset_val,
                                                        const void* logits, void* output,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_f32_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_sampling_from_logits_f32_ex)(int32_t batch, int32_t vocab,
                                                       uint64_t seed_val, const void* seed_ptr,
                                                       uint64_t offset_val, void* offset_ptr,
                                                       const void* logits, void* output,
                                                       bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_logits_f32_run)(int32_t batch, int32_t vocab,
                                                        uint64_t seed_val, uint64_t offset_val,
                                                        const void* logits, void* output,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_probs_f32_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_sampling_from_probs_f32_ex)(int32_t batch, int32_t vocab,
                                                      int32_t deterministic, uint64_t seed_val,
                                                      const void* seed_ptr, uint64_t offset_val,
                                                      void* offset_ptr, const void* probs,
                                                      void* output, void* valid,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_from_probs_f32_run)(int32_t batch, int32_t vocab,
                                                       int32_t deterministic, uint64_t seed_val,
                                                       uint64_t offset_val, const void* probs,
                                                       void* output, void* valid,
                                                       bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_run_with)(int32_t sampler, int32_t flags, int32_t batch,
                                             int32_t vocab, int32_t top_k_val,
                                             const void* top_k_arr, float p_val, const void* p_arr,
                                             int32_t deterministic, uint64_t seed_val,
                                             const void* seed_ptr, uint64_t offset_val,
                                             void* offset_ptr, const void* input, void* output,
                                             void* valid, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_sampling_run_with_can_implement)(int32_t sampler, int32_t flags,
                                                           int32_t batch, int32_t vocab,
                                                           int32_t top_k_val, float p_val);
typedef int32_t (*bfi_abi_top_k_mask_logits_bf16_can_implement)(int32_t batch, int32_t vocab,
                                                                int32_t top_k_val);
typedef int32_t (*bfi_abi_top_k_mask_logits_bf16_run)(int32_t batch, int32_t vocab,
                                                      int32_t top_k_val, const void* top_k_arr,
                                                      const void* logits, void* masked_logits,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_mask_logits_f16_can_implement)(int32_t batch, int32_t vocab,
                                                               int32_t top_k_val);
typedef int32_t (*bfi_abi_top_k_mask_logits_f16_run)(int32_t batch, int32_t vocab,
                                                     int32_t top_k_val, const void* top_k_arr,
                                                     const void* logits, void* masked_logits,
                                                     bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_mask_logits_f32_can_implement)(int32_t batch, int32_t vocab,
                                                               int32_t top_k_val);
typedef int32_t (*bfi_abi_top_k_mask_logits_f32_run)(int32_t batch, int32_t vocab,
                                                     int32_t top_k_val, const void* top_k_arr,
                                                     const void* logits, void* masked_logits,
                                                     bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_renorm_probs_f32_can_implement)(int32_t batch, int32_t vocab,
                                                                int32_t top_k_val);
typedef int32_t (*bfi_abi_top_k_renorm_probs_f32_run)(int32_t batch, int32_t vocab,
                                                      int32_t top_k_val, const void* top_k_arr,
                                                      const void* probs, void* renormed_probs,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_top_k_sampling_f32_arr_run)(int32_t batch, int32_t vocab,
                                                      const void* top_k_arr, int32_t deterministic,
                                                      uint64_t seed_val, uint64_t offset_val,
                                                      const void* probs, void* output, void* valid,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                            int32_t top_k_val);
typedef int32_t (*bfi_abi_top_k_sampling_f32_ex)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                                 const void* top_k_arr, int32_t deterministic,
                                                 uint64_t seed_val, const void* seed_ptr,
                                                 uint64_t offset_val, void* offset_ptr,
                                                 const void* probs, void* output, void* valid,
                                                 bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_sampling_f32_run)(int32_t batch, int32_t vocab, int32_t top_k_val,
                                                  int32_t deterministic, uint64_t seed_val,
                                                  uint64_t offset_val, const void* probs,
                                                  void* output, void* valid,
                                                  bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_top_p_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_top_k_top_p_sampling_f32_arr_run)(
    int32_t batch, int32_t vocab, const void* top_k_arr, const void* top_p_arr,
    int32_t deterministic, uint64_t seed_val, uint64_t offset_val, const void* probs, void* output,
    void* valid, bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_top_p_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                                  int32_t top_k_val,
                                                                  float top_p_val);
typedef int32_t (*bfi_abi_top_k_top_p_sampling_f32_ex)(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, float top_p_val,
    const void* top_p_arr, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_k_top_p_sampling_f32_run)(int32_t batch, int32_t vocab,
                                                        int32_t top_k_val, float top_p_val,
                                                        int32_t deterministic, uint64_t seed_val,
                                                        uint64_t offset_val, const void* probs,
                                                        void* output, void* valid,
                                                        bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_p_renorm_probs_f32_can_implement)(int32_t batch, int32_t vocab,
                                                                float top_p_val);
typedef int32_t (*bfi_abi_top_p_renorm_probs_f32_run)(int32_t batch, int32_t vocab, float top_p_val,
                                                      const void* top_p_arr, const void* probs,
                                                      void* renormed_probs,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_p_sampling_f32_arr_can_implement)(int32_t batch, int32_t vocab);
typedef int32_t (*bfi_abi_top_p_sampling_f32_arr_run)(int32_t batch, int32_t vocab,
                                                      const void* p_arr, int32_t deterministic,
                                                      uint64_t seed_val, uint64_t offset_val,
                                                      const void* probs, void* output, void* valid,
                                                      bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_p_sampling_f32_can_implement)(int32_t batch, int32_t vocab,
                                                            float p_val);
typedef int32_t (*bfi_abi_top_p_sampling_f32_ex)(int32_t batch, int32_t vocab, float p_val,
                                                 const void* p_arr, int32_t deterministic,
                                                 uint64_t seed_val, const void* seed_ptr,
                                                 uint64_t offset_val, void* offset_ptr,
                                                 const void* probs, void* output, void* valid,
                                                 bfi_abi_stream_t stream);
typedef int32_t (*bfi_abi_top_p_sampling_f32_run)(int32_t batch, int32_t vocab, float p_val,
                                                  int32_t deterministic, uint64_t seed_val,
                                                  uint64_t offset_val, const void* probs,
                                                  void* output, void* valid,
                                                  bfi_abi_stream_t stream);

#endif /* BARACUDA_FLASHINFER_ABI_SIGNATURES_H_ */
