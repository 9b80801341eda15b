//! What the paged attention plans (decode and the cascades) share: their sizes in the C ABI's
//! types, and the checks of q, the caches, o and lse.
use crate::check::{to_i32, Check, Expect, ANY};
use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::tensor::{RawTensor, TensorMut, TensorRef};

/// The geometry of a paged attention problem, validated to fit the C ABI's `int32_t`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct AttentionSizes {
    pub batch: i32,
    pub num_qo_heads: i32,
    pub num_kv_heads: i32,
    pub head_dim: i32,
    pub page_size: i32,
    pub element: Element,
}

impl AttentionSizes {
    pub(crate) fn new(
        function: &'static str,
        [batch, num_qo_heads, num_kv_heads, head_dim, page_size]: [usize; 5],
        element: Element,
    ) -> Result<Self> {
        Ok(AttentionSizes {
            batch: to_i32(function, "batch_size", batch)?,
            num_qo_heads: to_i32(function, "num_qo_heads", num_qo_heads)?,
            num_kv_heads: to_i32(function, "num_kv_heads", num_kv_heads)?,
            head_dim: to_i32(function, "head_dim", head_dim)?,
            page_size: to_i32(function, "page_size", page_size)?,
            element,
        })
    }

    fn dims(&self) -> [usize; 5] {
        [
            self.batch,
            self.num_qo_heads,
            self.num_kv_heads,
            self.head_dim,
            self.page_size,
        ]
        .map(|x| x as usize)
    }

    /// q and o `[B, Hq, D]` in the query dtype, the caches `[num_pages, Hkv, P, D]` in the KV
    /// dtype (`[num_pages, P, Hkv, D]` when `nhd`; the same number of pages), lse `[B, Hq]` f32.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_tensors(
        &self,
        c: &Check,
        q: &TensorRef<'_, 3>,
        k_cache: &TensorRef<'_, 4>,
        v_cache: &TensorRef<'_, 4>,
        o: &TensorMut<'_, 3>,
        lse: &Option<TensorMut<'_, 2>>,
        nhd: bool,
    ) -> Result<()> {
        let [b, hq, hkv, d, p] = self.dims();
        let rows = Expect {
            dtype: self.element.query_dtype(),
            shape: [b, hq, d],
            dims: ["batch", "num_qo_heads", "head_dim"],
            align: 16,
            dense_from: 0,
        };
        c.tensor("q", &q.raw, &rows)?;
        let caches = [&k_cache.raw, &v_cache.raw];
        let heads = ("num_kv_heads", hkv);
        check_paged_caches(c, caches, self.element.kv_dtype(), heads, [p, d], nhd)?;
        c.tensor("o", &o.raw, &rows)?;
        check_lse(c, lse, ("batch", b), hq)?;
        Ok(())
    }
}

/// The lse pointer of a call: NULL when the caller wants none.
pub(crate) fn lse_ptr(lse: &Option<TensorMut<'_, 2>>) -> *mut core::ffi::c_void {
    lse.as_ref()
        .map_or(core::ptr::null_mut(), |l| l.raw.as_mut_ptr())
}

/// Paged caches `[num_pages, H, P, D]` (`[num_pages, P, H, D]` when `nhd`) of `dtype`, K and V
/// with the same number of pages; `heads` names H and gives it.
pub(crate) fn check_paged_caches(
    c: &Check,
    [k_cache, v_cache]: [&RawTensor<4>; 2],
    dtype: DType,
    (heads_name, h): (&str, usize),
    [p, d]: [usize; 2],
    nhd: bool,
) -> Result<()> {
    let (shape, dims) = if nhd {
        (
            [ANY, p, h, d],
            ["num_pages", "page_size", heads_name, "head_dim"],
        )
    } else {
        (
            [ANY, h, p, d],
            ["num_pages", heads_name, "page_size", "head_dim"],
        )
    };
    let cache = Expect {
        dtype,
        shape,
        dims,
        align: 16,
        dense_from: 0,
    };
    c.tensor("k_cache", k_cache, &cache)?;
    c.tensor("v_cache", v_cache, &cache)?;
    c.same(
        "v_cache",
        0,
        "num_pages",
        v_cache.shape[0],
        "k_cache",
        k_cache.shape[0],
    )
}

/// lse, when given, `[rows, Hq]` f32; `rows` names the first dimension and gives it.
pub(crate) fn check_lse(
    c: &Check,
    lse: &Option<TensorMut<'_, 2>>,
    (rows_name, rows): (&str, usize),
    num_qo_heads: usize,
) -> Result<()> {
    let Some(lse) = lse else { return Ok(()) };
    let expect = Expect {
        dtype: DType::F32,
        shape: [rows, num_qo_heads],
        dims: [rows_name, "num_qo_heads"],
        align: 4,
        dense_from: 0,
    };
    c.tensor("lse", &lse.raw, &expect)
}
