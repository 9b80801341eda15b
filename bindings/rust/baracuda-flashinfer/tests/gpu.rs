//! GPU tests of every family through the safe crate, against float64 (attention, merge) or
//! exact (append, filters, support of the samplers) CPU references, and statistical ones for the
//! samplers' distributions. Outputs are NaN-poisoned before each run and cache slots no request
//! owns are NaN, so an unwritten output or a read past a request's length fails.
//!
//! Every test is `#[ignore]`d: `cargo test` on a machine without a GPU reports them as ignored.
//! On a GPU machine run them with `--ignored` (tools/rust_gpu_build.sh builds the binary here
//! and prints the command); there a missing GPU fails loudly instead.
#![cfg(bfi_cudart)]

mod common;
mod cuda;

mod gpu {
    pub mod append;
    pub mod cascade;
    pub mod decode;
    pub mod merge;
    pub mod prefill;
    pub mod sampling;
}

use baracuda_flashinfer::{DType, PageTable, TensorMut, TensorRef};
use common::{decode, Paged};
use cuda::DeviceBuffer;

/// The reason every GPU test is ignored by default.
pub const NEEDS_GPU: &str = "needs a CUDA GPU: run with --ignored on one";

/// A [`Paged`] problem on the device: the caches (slots no request owns poisoned), q and the
/// page table.
pub struct DevicePaged {
    pub k: DeviceBuffer<u8>,
    pub v: DeviceBuffer<u8>,
    pub q: DeviceBuffer<u8>,
    pub indices: DeviceBuffer<i32>,
    pub indptr: DeviceBuffer<i32>,
    pub last_page_len: DeviceBuffer<i32>,
}

impl DevicePaged {
    pub fn new(p: &Paged) -> Self {
        let (indices, indptr, last_page_len) = p.upload_tables();
        DevicePaged {
            k: DeviceBuffer::from_host(&p.poisoned(&p.k_bytes)),
            v: DeviceBuffer::from_host(&p.poisoned(&p.v_bytes)),
            q: DeviceBuffer::from_host(&p.q_bytes),
            indices,
            indptr,
            last_page_len,
        }
    }

    pub fn q(&self, p: &Paged) -> TensorRef<'_, 3> {
        TensorRef::from_bytes(
            self.q.slice(),
            p.element.query_dtype(),
            [p.batch, p.hq, p.d],
        )
    }

    pub fn k_cache(&self, p: &Paged) -> TensorRef<'_, 4> {
        TensorRef::from_bytes(
            self.k.slice(),
            p.element.kv_dtype(),
            [p.num_pages, p.hkv, p.p, p.d],
        )
    }

    pub fn v_cache(&self, p: &Paged) -> TensorRef<'_, 4> {
        TensorRef::from_bytes(
            self.v.slice(),
            p.element.kv_dtype(),
            [p.num_pages, p.hkv, p.p, p.d],
        )
    }

    pub fn pages(&self) -> PageTable<'_> {
        // SAFETY: built by Paged: page ids within the cache, indptr monotone from 0, lengths in
        // [1, page_size].
        unsafe {
            PageTable::new(
                self.indices.slice(),
                self.indptr.slice(),
                self.last_page_len.slice(),
            )
        }
    }
}

/// A NaN-poisoned output of `n` elements of `dtype`, as bytes.
pub fn poisoned_output(dtype: DType, n: usize) -> DeviceBuffer<u8> {
    DeviceBuffer::filled(n * dtype.size(), 0xFF)
}

pub fn out_view<const N: usize>(
    buffer: &mut DeviceBuffer<u8>,
    dtype: DType,
    shape: [usize; N],
) -> TensorMut<'_, N> {
    TensorMut::from_bytes(buffer.slice_mut(), dtype, shape)
}

/// The values of a device buffer of `dtype` elements.
pub fn values(buffer: &DeviceBuffer<u8>, dtype: DType) -> Vec<f64> {
    decode(dtype, &buffer.to_host())
}

pub fn f32_values(buffer: &DeviceBuffer<f32>) -> Vec<f64> {
    buffer.to_host().into_iter().map(f64::from).collect()
}
