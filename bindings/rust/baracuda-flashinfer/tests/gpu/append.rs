//! Appends write exactly the new tokens' slots (bit for bit) and nothing else.
use baracuda_flashinfer::{
    AppendArgs, AppendDesc, AppendPlan, AppendTokensArgs, AppendTokensPlan, DType, PageTable,
    TensorMut, TensorRef,
};

use crate::common::{page_table, random_values, Rng};
use crate::cuda::{require_gpu, CudaStream, DeviceBuffer};

const H: usize = 2;
const D: usize = 64;
const P: usize = 16;

/// The byte offset of (page, head, slot) in a cache of `dtype`.
fn at(page: usize, h: usize, slot: usize, dtype: DType) -> usize {
    ((page * H + h) * P + slot) * D * dtype.size()
}

/// Writes token `row` of `src` ([tokens, H, D]) into slot (page, slot) of `cache`.
fn place(cache: &mut [u8], src: &[u8], row: usize, page: usize, slot: usize, dtype: DType) {
    let row_bytes = D * dtype.size();
    for h in 0..H {
        let from = (row * H + h) * row_bytes;
        let to = at(page, h, slot, dtype);
        cache[to..to + row_bytes].copy_from_slice(&src[from..from + row_bytes]);
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn append_decode_writes_each_requests_last_slot() {
    require_gpu();
    let mut rng = Rng::new(0xA99E);
    for dtype in [DType::F16, DType::Bf16, DType::F32] {
        let batch = 9;
        // Lengths after the append (the table already counts the new token), crossing pages.
        let lens: Vec<usize> = (0..batch).map(|b| [1, 16, 17, 40][b % 4] + b).collect();
        let num_pages = lens.iter().map(|l| (l + P - 1) / P).sum::<usize>() + 4;
        let (indptr, indices, lpl) = page_table(&lens, P, num_pages, &mut rng);
        let n = num_pages * H * P * D;
        let (k0, _) = random_values(dtype, n, 1.0, &mut rng);
        let (v0, _) = random_values(dtype, n, 1.0, &mut rng);
        let (key, _) = random_values(dtype, batch * H * D, 1.0, &mut rng);
        let (value, _) = random_values(dtype, batch * H * D, 1.0, &mut rng);
        let (mut k, mut v) = (DeviceBuffer::from_host(&k0), DeviceBuffer::from_host(&v0));
        let (dkey, dvalue) = (
            DeviceBuffer::from_host(&key),
            DeviceBuffer::from_host(&value),
        );
        let (ids, ip, lp) = (
            DeviceBuffer::from_host(&indices),
            DeviceBuffer::from_host(&indptr),
            DeviceBuffer::from_host(&lpl),
        );
        let plan = AppendPlan::new(&AppendDesc {
            batch_size: batch,
            num_heads: H,
            head_dim: D,
            page_size: P,
            dtype,
        })
        .unwrap();
        let stream = CudaStream::new();
        plan.run(
            stream.stream(),
            AppendArgs {
                key: TensorRef::from_bytes(dkey.slice(), dtype, [batch, H, D]),
                value: TensorRef::from_bytes(dvalue.slice(), dtype, [batch, H, D]),
                k_cache: TensorMut::from_bytes(k.slice_mut(), dtype, [num_pages, H, P, D]),
                v_cache: TensorMut::from_bytes(v.slice_mut(), dtype, [num_pages, H, P, D]),
                // SAFETY: page_table's ids are within the cache, lengths in [1, P].
                pages: unsafe { PageTable::new(ids.slice(), ip.slice(), lp.slice()) },
            },
        )
        .unwrap();
        stream.synchronize();
        let (mut k_want, mut v_want) = (k0.clone(), v0.clone());
        for b in 0..batch {
            let t = lens[b] - 1;
            let page = indices[indptr[b] as usize + t / P] as usize;
            place(&mut k_want, &key, b, page, t % P, dtype);
            place(&mut v_want, &value, b, page, t % P, dtype);
        }
        assert!(
            k.to_host() == k_want,
            "{dtype}: the K cache differs from the expected bytes"
        );
        assert!(
            v.to_host() == v_want,
            "{dtype}: the V cache differs from the expected bytes"
        );
        println!("{dtype}: decode append wrote exactly {batch} slots per cache");
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn append_tokens_places_each_token_and_skips_bad_ones() {
    require_gpu();
    let mut rng = Rng::new(0x70CE);
    for dtype in [DType::F16, DType::Bf16, DType::F32] {
        let batch = 4;
        let pages_per_request = [1usize, 3, 0, 2];
        let lens: Vec<usize> = pages_per_request.iter().map(|&n| n * P).collect();
        let num_pages = lens.iter().sum::<usize>() / P + 2;
        let (indptr, indices, _) = page_table(&lens, P, num_pages, &mut rng);
        // (request, position): in range, across pages; then a position past the request's
        // pages, a request with no page, and request indices out of range: those are skipped.
        let mut placement: Vec<(i32, i32)> =
            vec![(0, 0), (0, 15), (1, 5), (1, 16), (1, 47), (3, 31), (3, 2)];
        let valid = placement.len();
        placement.extend([(0, 16), (2, 0), (4, 0), (-1, 3), (3, -1)]);
        let tokens = placement.len();
        let n = num_pages * H * P * D;
        let (k0, _) = random_values(dtype, n, 1.0, &mut rng);
        let (v0, _) = random_values(dtype, n, 1.0, &mut rng);
        let (key, _) = random_values(dtype, tokens * H * D, 1.0, &mut rng);
        let (value, _) = random_values(dtype, tokens * H * D, 1.0, &mut rng);
        let (mut k, mut v) = (DeviceBuffer::from_host(&k0), DeviceBuffer::from_host(&v0));
        let (dkey, dvalue) = (
            DeviceBuffer::from_host(&key),
            DeviceBuffer::from_host(&value),
        );
        let (ids, ip) = (
            DeviceBuffer::from_host(&indices),
            DeviceBuffer::from_host(&indptr),
        );
        let rows = DeviceBuffer::from_host(&placement.iter().map(|x| x.0).collect::<Vec<_>>());
        let positions = DeviceBuffer::from_host(&placement.iter().map(|x| x.1).collect::<Vec<_>>());
        let desc = AppendDesc {
            batch_size: batch,
            num_heads: H,
            head_dim: D,
            page_size: P,
            dtype,
        };
        let plan = AppendTokensPlan::new(&desc, 64).unwrap();
        let stream = CudaStream::new();
        plan.run(
            stream.stream(),
            AppendTokensArgs {
                key: TensorRef::from_bytes(dkey.slice(), dtype, [tokens, H, D]),
                value: TensorRef::from_bytes(dvalue.slice(), dtype, [tokens, H, D]),
                k_cache: TensorMut::from_bytes(k.slice_mut(), dtype, [num_pages, H, P, D]),
                v_cache: TensorMut::from_bytes(v.slice_mut(), dtype, [num_pages, H, P, D]),
                // SAFETY: page_table's ids are within the cache.
                pages: unsafe { PageTable::without_last_page_len(ids.slice(), ip.slice()) },
                batch_indices: rows.slice(),
                positions: positions.slice(),
            },
        )
        .unwrap();
        stream.synchronize();
        let (mut k_want, mut v_want) = (k0.clone(), v0.clone());
        for (i, &(b, pos)) in placement.iter().take(valid).enumerate() {
            let (b, pos) = (b as usize, pos as usize);
            let page = indices[indptr[b] as usize + pos / P] as usize;
            place(&mut k_want, &key, i, page, pos % P, dtype);
            place(&mut v_want, &value, i, page, pos % P, dtype);
        }
        assert!(
            k.to_host() == k_want,
            "{dtype}: the K cache differs from the expected bytes"
        );
        assert!(
            v.to_host() == v_want,
            "{dtype}: the V cache differs from the expected bytes"
        );
        println!("{dtype}: {valid} tokens placed, {} skipped", tokens - valid);
    }
}
