//! One decode step of an inference engine on a GPU, through the safe crate: append each
//! request's new K/V to the paged cache, decode, sample the next tokens; then the same step
//! captured into a CUDA graph and replayed (the sampler's device offset makes each replay draw
//! fresh tokens). The decode output is checked against a float64 reference; the exit status
//! says whether it matched.
//!
//! The attention output stands in for the LM head's logits (`o` viewed as `[batch, Hq * D]`
//! bf16), so the whole step stays on the device. Device memory comes from a few CUDA runtime
//! calls declared in `tests/cuda/mod.rs` (an engine would use cudarc, candle or its own
//! allocator, see docs/rust.md).
//!
//! ```text
//! cargo run --example engine_step          # (with the library found as docs/rust.md says)
//! ```

#[cfg(bfi_cudart)]
#[path = "../tests/common/mod.rs"]
mod common;
#[cfg(bfi_cudart)]
#[path = "../tests/cuda/mod.rs"]
mod cuda;

#[cfg(not(bfi_cudart))]
fn main() {
    eprintln!("engine_step was built without the CUDA runtime (no libcudart.so under CUDA_PATH)");
    std::process::exit(2);
}

#[cfg(bfi_cudart)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use baracuda_flashinfer::{
        AppendArgs, AppendDesc, AppendPlan, DecodeArgs, DecodeDesc, DecodePlan, Element,
        LogitsSamplingArgs, LogitsSamplingDesc, LogitsSamplingPlan, Offset, PageTable, Rng, Seed,
        TensorMut, TensorRef, Workspace,
    };
    use common::{decode, max_error, o_tolerance, Paged};
    use cuda::{CudaStream, DeviceBuffer};

    baracuda_flashinfer::ensure_compatible()?;
    println!("{}", baracuda_flashinfer::version_string());
    if cuda::device_count() == 0 {
        eprintln!("engine_step needs a CUDA GPU; cudaGetDeviceCount finds none");
        std::process::exit(2);
    }
    cuda::require_gpu();

    // The model's attention geometry and the batch: 4 requests, their context lengths after
    // this step's token (the engine grew last_page_len / added pages before the step).
    let (hq, hkv, d, page) = (32, 8, 128, 16);
    let element = Element::Bf16;
    let (qt, kt) = (element.query_dtype(), element.kv_dtype());
    let mut rng = common::Rng::new(2026);
    let lens = vec![38, 101, 1, 250];
    let problem = Paged::new(element, [hq, hkv, d, page], lens.clone(), 8, &mut rng);
    let batch = lens.len();

    // Plans: built once at start-up (per batch bucket), validated by the library.
    let append = AppendPlan::new(&AppendDesc {
        batch_size: batch,
        num_heads: hkv,
        head_dim: d,
        page_size: page,
        dtype: kt,
    })?;
    let attention = DecodePlan::new(&DecodeDesc {
        batch_size: batch,
        num_qo_heads: hq,
        num_kv_heads: hkv,
        head_dim: d,
        page_size: page,
        element,
        ..DecodeDesc::default()
    })?;
    let sampler = LogitsSamplingPlan::new(&LogitsSamplingDesc {
        batch_size: batch,
        vocab_size: hq * d,
        dtype: qt,
    })?;
    println!(
        "plans: decode workspace {} bytes, sm_scale {}",
        attention.workspace_size(),
        attention.sm_scale()
    );

    // Device state: the cache holds every earlier token; this step's K/V are separate.
    let row = d * kt.size();
    let (mut new_k, mut new_v) = (Vec::new(), Vec::new());
    let (mut k_cache_bytes, mut v_cache_bytes) = (problem.k_bytes.clone(), problem.v_bytes.clone());
    for (b, &len) in lens.iter().enumerate() {
        let (pg, slot) = problem.token(b, len - 1);
        for h in 0..hkv {
            let at = problem.slot(pg, h, slot) * kt.size();
            new_k.extend_from_slice(&k_cache_bytes[at..at + row]);
            new_v.extend_from_slice(&v_cache_bytes[at..at + row]);
            k_cache_bytes[at..at + row].fill(0xFF); // not written yet: NaN until the append
            v_cache_bytes[at..at + row].fill(0xFF);
        }
    }
    /// What a step writes (the rest it only reads).
    struct State {
        k_cache: DeviceBuffer<u8>,
        v_cache: DeviceBuffer<u8>,
        o: DeviceBuffer<u8>,
        workspace: DeviceBuffer<u8>,
        tokens: DeviceBuffer<i32>,
        offset: DeviceBuffer<u64>,
    }
    let mut state = State {
        k_cache: DeviceBuffer::from_host(&k_cache_bytes),
        v_cache: DeviceBuffer::from_host(&v_cache_bytes),
        o: DeviceBuffer::filled(batch * hq * d * qt.size(), 0xFF),
        workspace: DeviceBuffer::new(attention.workspace_size()),
        tokens: DeviceBuffer::filled(batch, 0xFF),
        offset: DeviceBuffer::from_host(&[0]),
    };
    let (new_k, new_v) = (
        DeviceBuffer::from_host(&new_k),
        DeviceBuffer::from_host(&new_v),
    );
    let q = DeviceBuffer::from_host(&problem.q_bytes);
    let seed = DeviceBuffer::<u64>::from_host(&[7]);
    let (indices, indptr, last_page_len) = problem.upload_tables();
    // SAFETY: Paged built the table: page ids within the cache, lengths in [1, page_size].
    let pages = unsafe { PageTable::new(indices.slice(), indptr.slice(), last_page_len.slice()) };
    let cache = [problem.num_pages, hkv, page, d];

    // One step: three enqueues on one stream, no host synchronisation in between.
    let step =
        |s: baracuda_flashinfer::Stream<'_>, x: &mut State| -> baracuda_flashinfer::Result<()> {
            append.run(
                s,
                AppendArgs {
                    key: TensorRef::from_bytes(new_k.slice(), kt, [batch, hkv, d]),
                    value: TensorRef::from_bytes(new_v.slice(), kt, [batch, hkv, d]),
                    k_cache: TensorMut::from_bytes(x.k_cache.slice_mut(), kt, cache),
                    v_cache: TensorMut::from_bytes(x.v_cache.slice_mut(), kt, cache),
                    pages,
                },
            )?;
            attention.run(
                s,
                DecodeArgs {
                    q: TensorRef::from_bytes(q.slice(), qt, [batch, hq, d]),
                    k_cache: TensorRef::from_bytes(x.k_cache.slice(), kt, cache),
                    v_cache: TensorRef::from_bytes(x.v_cache.slice(), kt, cache),
                    pages,
                    o: TensorMut::from_bytes(x.o.slice_mut(), qt, [batch, hq, d]),
                    lse: None,
                    sinks: None,
                },
                &mut Workspace::new(x.workspace.slice_mut()),
            )?;
            sampler.run(
                s,
                LogitsSamplingArgs {
                    logits: TensorRef::from_bytes(x.o.slice(), qt, [batch, hq * d]),
                    output: x.tokens.slice_mut(),
                    rng: Rng {
                        seed: Seed::Device(seed.slice()),
                        offset: Offset::Device(x.offset.slice_mut()),
                    },
                },
            )
        };

    let stream = CudaStream::new();
    step(stream.stream(), &mut state)?;
    stream.synchronize();
    let eager_tokens = state.tokens.to_host();
    println!("eager step: next tokens {eager_tokens:?}");

    // The decode output against float64 attention over each request's tokens.
    let (want, _) = problem.reference(f64::from(attention.sm_scale()));
    let err = max_error(&decode(qt, &state.o.to_host()), &want, false);
    println!(
        "decode: max |o - float64 reference| = {err:.2e} (bound {})",
        o_tolerance(qt)
    );

    // The same step as a CUDA graph: captured once, replayed per token. The buffers it uses
    // outlive the graph.
    let graph = stream.capture(|s| step(s, &mut state).expect("capturing the step"));
    for replay in 1..=2 {
        stream.launch(&graph);
        stream.synchronize();
        println!(
            "graph replay {replay}: next tokens {:?}",
            state.tokens.to_host()
        );
    }
    println!(
        "sampler offset after 3 steps: {}",
        state.offset.to_host()[0]
    );
    if err > o_tolerance(qt) || eager_tokens.iter().any(|&t| t < 0 || t >= (hq * d) as i32) {
        eprintln!("engine_step: FAILED");
        std::process::exit(1);
    }
    println!("engine_step: OK");
    Ok(())
}
