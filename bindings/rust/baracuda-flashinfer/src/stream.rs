//! The CUDA stream work is enqueued on, with the default-stream choice made explicit.
use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomData;

use crate::error::{Error, ErrorKind, Result};
use crate::sys;

/// `cudaStreamLegacy` / `CU_STREAM_LEGACY`.
const LEGACY: usize = 0x1;
/// `cudaStreamPerThread` / `CU_STREAM_PER_THREAD`.
const PER_THREAD: usize = 0x2;

/// A CUDA stream handle (a `cudaStream_t`, the same value as the driver's `CUstream`), valid
/// for `'s`.
///
/// **The NULL stream means different things.** To this library (its C ABI) NULL is the
/// per-thread default stream; to the CUDA runtime and driver, and so to cudarc
/// (`CudaContext::default_stream()`) and candle (`CudaDevice::new`), NULL is the *legacy*
/// default stream. This type never holds NULL, so the choice is always visible:
/// [`Stream::legacy`], [`Stream::per_thread`], a created stream through
/// [`from_raw`](Stream::from_raw) (which refuses NULL), or a handle that follows CUDA's
/// convention through [`from_raw_or_legacy`](Stream::from_raw_or_legacy) (NULL becomes the
/// legacy stream, what cudarc and candle meant).
///
/// `Copy`, `Send` and `Sync`: it is a handle value, and CUDA streams may be used from any
/// thread. One exception follows from CUDA itself: [`Stream::per_thread`] names the per-thread
/// stream *of the thread that enqueues*, so the same value sent to another thread enqueues on
/// that thread's stream.
///
/// The work runs on the device that is current on the calling thread (`cudaSetDevice`), which
/// must be the stream's device.
///
/// ```
/// use baracuda_flashinfer::Stream;
///
/// let per_thread = Stream::per_thread(); // what the C ABI's NULL means
/// assert!(per_thread.is_per_thread());
/// // A raw handle from cudarc (`stream.cu_stream() as *mut c_void`) or candle: NULL there is
/// // the legacy stream.
/// let raw: *mut core::ffi::c_void = core::ptr::null_mut();
/// let s = unsafe { Stream::from_raw_or_legacy(raw) };
/// assert!(s.is_legacy());
/// // `from_raw` refuses NULL rather than guess.
/// assert!(unsafe { Stream::from_raw(raw) }.is_err());
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Stream<'s> {
    handle: usize,
    _borrow: PhantomData<&'s ()>,
}

impl Stream<'static> {
    /// The legacy default stream (`cudaStreamLegacy`): what NULL means to the CUDA runtime, to
    /// cudarc and to candle. It synchronises with every blocking stream of the device and
    /// cannot be captured into a CUDA graph.
    pub const fn legacy() -> Stream<'static> {
        Stream {
            handle: LEGACY,
            _borrow: PhantomData,
        }
    }

    /// The calling thread's per-thread default stream (`cudaStreamPerThread`): what NULL means
    /// to this library's C ABI.
    pub const fn per_thread() -> Stream<'static> {
        Stream {
            handle: PER_THREAD,
            _borrow: PhantomData,
        }
    }
}

impl<'s> Stream<'s> {
    /// A stream from a raw `cudaStream_t` / `CUstream` (a created stream, or the special
    /// handles `cudaStreamLegacy` and `cudaStreamPerThread`). NULL is refused
    /// ([`ErrorKind::InvalidProblem`]): it means the legacy stream to CUDA and the per-thread
    /// stream to this library; say which with [`Stream::legacy`], [`Stream::per_thread`] or
    /// [`from_raw_or_legacy`](Self::from_raw_or_legacy).
    ///
    /// # Safety
    ///
    /// `raw` is a live stream of the device the work runs on, for `'s` and until the work
    /// enqueued on it has been used.
    pub unsafe fn from_raw(raw: *mut c_void) -> Result<Stream<'s>> {
        if raw.is_null() {
            return Err(Error::new(
                ErrorKind::InvalidProblem,
                "Stream::from_raw",
                "stream: NULL is the legacy default stream to CUDA, cudarc and candle but the \
                 per-thread one to this library; use Stream::legacy(), Stream::per_thread() or \
                 Stream::from_raw_or_legacy()",
            ));
        }
        Ok(Stream {
            handle: raw as usize,
            _borrow: PhantomData,
        })
    }

    /// A stream from a raw handle that follows CUDA's convention: NULL is the legacy default
    /// stream (cudarc's `CudaStream::cu_stream()` of a context's default stream, candle's
    /// device stream). Any other value is used as it is.
    ///
    /// # Safety
    ///
    /// As [`from_raw`](Self::from_raw).
    pub unsafe fn from_raw_or_legacy(raw: *mut c_void) -> Stream<'s> {
        Stream {
            handle: if raw.is_null() { LEGACY } else { raw as usize },
            _borrow: PhantomData,
        }
    }

    /// The handle passed to the C ABI (never NULL).
    pub fn as_raw(&self) -> sys::baracuda_flashinfer_stream_t {
        self.handle as *mut sys::CUstream_st
    }

    /// True for [`Stream::legacy`].
    pub fn is_legacy(&self) -> bool {
        self.handle == LEGACY
    }

    /// True for [`Stream::per_thread`].
    pub fn is_per_thread(&self) -> bool {
        self.handle == PER_THREAD
    }
}

impl fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.handle {
            LEGACY => f.write_str("Stream(legacy)"),
            PER_THREAD => f.write_str("Stream(per-thread)"),
            h => write!(f, "Stream({h:#x})"),
        }
    }
}
