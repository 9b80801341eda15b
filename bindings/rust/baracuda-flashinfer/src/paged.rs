//! Page tables of the paged KV cache, shared by decode, append and the cascades.
//!
//! The cache holds `num_pages` pages of `[num_kv_heads, page_size, head_dim]` ("HND") per K
//! and V: tensors of shape `[num_pages, num_kv_heads, page_size, head_dim]`. Request `b` owns
//! the pages `indices[indptr[b] .. indptr[b + 1]]`, in order; its last page holds
//! `last_page_len[b]` tokens. All three arrays are `i32` in device memory.
use crate::check::Check;
use crate::error::Result;
use crate::memory::DeviceSlice;

/// The page lists of a batch of requests: `indices`, `indptr` (`[batch + 1]`) and, where a
/// kernel needs it, `last_page_len` (`[batch]`).
///
/// The host cannot see device memory, so the kernels trust what the arrays hold: a page id
/// past the cache reads (decode) or writes (append) out of bounds. That one invariant is what
/// makes [`PageTable::new`] `unsafe`; every run that takes a table is safe.
///
/// ```
/// use baracuda_flashinfer::{DeviceSlice, PageTable};
///
/// # let (indices_ptr, indptr_ptr, lpl_ptr) = (0x7000_0000u64, 0x7000_1000u64, 0x7000_2000u64);
/// // SAFETY: (in real code) live device arrays; page ids in range, see PageTable::new.
/// let pages = unsafe {
///     PageTable::new(
///         DeviceSlice::<i32>::from_raw(indices_ptr, 96),
///         DeviceSlice::<i32>::from_raw(indptr_ptr, 8 + 1),
///         DeviceSlice::<i32>::from_raw(lpl_ptr, 8),
///     )
/// };
/// assert_eq!(pages.batch_size(), 8);
/// ```
#[derive(Copy, Clone, Debug)]
pub struct PageTable<'a> {
    indices: DeviceSlice<'a, i32>,
    indptr: DeviceSlice<'a, i32>,
    last_page_len: Option<DeviceSlice<'a, i32>>,
}

impl<'a> PageTable<'a> {
    /// A page table for decode, decode-time append and the cascades.
    ///
    /// # Safety
    ///
    /// Whenever work enqueued with the table runs (each replay of a captured graph included),
    /// the device arrays hold, for every request `b < batch_size()`:
    /// - `0 <= indptr[b] <= indptr[b + 1] <= indices.len()`;
    /// - every page id `indices[indptr[b] .. indptr[b + 1]]` is in `[0, num_pages)` of each
    ///   cache the table is used with;
    /// - `last_page_len[b]` is in `[1, page_size]` when request `b` has a page.
    pub unsafe fn new(
        indices: DeviceSlice<'a, i32>,
        indptr: DeviceSlice<'a, i32>,
        last_page_len: DeviceSlice<'a, i32>,
    ) -> Self {
        PageTable {
            indices,
            indptr,
            last_page_len: Some(last_page_len),
        }
    }

    /// A page table without `last_page_len`, for the multi-token append (which places each
    /// token at an absolute position; a position past a request's pages is skipped).
    ///
    /// # Safety
    ///
    /// As [`new`](Self::new), without the `last_page_len` clause.
    pub unsafe fn without_last_page_len(
        indices: DeviceSlice<'a, i32>,
        indptr: DeviceSlice<'a, i32>,
    ) -> Self {
        PageTable {
            indices,
            indptr,
            last_page_len: None,
        }
    }

    /// The number of requests (`indptr.len() - 1`).
    pub fn batch_size(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// The page ids.
    pub fn indices(&self) -> DeviceSlice<'a, i32> {
        self.indices
    }

    /// The request offsets into [`indices`](Self::indices).
    pub fn indptr(&self) -> DeviceSlice<'a, i32> {
        self.indptr
    }

    /// The tokens used in each request's last page, when the table has them.
    pub fn last_page_len(&self) -> Option<DeviceSlice<'a, i32>> {
        self.last_page_len
    }

    /// `name`'s arrays hold `batch` requests (and `last_page_len` when `with_last_page_len`).
    /// `parts` names the three arrays as the plan's documentation does.
    pub(crate) fn check(
        &self,
        c: &Check,
        parts: [&str; 3],
        batch: usize,
        with_last_page_len: bool,
    ) -> Result<()> {
        let [indices, indptr, last_page_len] = parts;
        c.min_len(indices, &self.indices, 0, "page ids")?;
        c.len(indptr, &self.indptr, batch + 1, "batch + 1")?;
        if with_last_page_len {
            match &self.last_page_len {
                Some(lpl) => c.len(last_page_len, lpl, batch, "batch")?,
                None => {
                    return Err(c.fail(
                        crate::ErrorKind::InvalidProblem,
                        format!(
                            "{last_page_len}: missing (a table from \
                             PageTable::without_last_page_len); this plan needs it"
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    pub(crate) fn indices_ptr(&self) -> *const core::ffi::c_void {
        self.indices.as_ptr()
    }

    pub(crate) fn indptr_ptr(&self) -> *const core::ffi::c_void {
        self.indptr.as_ptr()
    }

    /// NULL without `last_page_len` (the checks refuse that where a kernel reads it).
    pub(crate) fn last_page_len_ptr(&self) -> *const core::ffi::c_void {
        self.last_page_len
            .map_or(core::ptr::null(), |lpl| lpl.as_ptr())
    }
}
