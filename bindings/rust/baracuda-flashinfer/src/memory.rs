//! Borrowed views of device memory: [`DeviceSlice`] (read) and [`DeviceSliceMut`] (written),
//! typed by a [`DeviceRepr`] element.
//!
//! The crate never allocates, frees or reads device memory: it borrows what the caller owns
//! (a cudarc `CudaSlice`, a candle storage, an engine's arena) for the duration of a call. A
//! view holds the device address (a `CUdeviceptr`, as `u64`) and the number of elements; the
//! lifetime `'a` ties it to the owner, so a view cannot outlive a borrowed buffer and an output
//! cannot alias an input of the same call.
//!
//! Work is asynchronous: the borrow ends when `run` returns, while the kernel may still be
//! running. That is sound under stream-ordered memory management (a free enqueued on the same
//! stream, as cudarc and candle do), and it is part of the contract of the `unsafe`
//! constructors: the memory stays valid until the work enqueued with it has completed (and,
//! for a captured CUDA graph, for as long as the graph is replayed).
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ops::{Bound, RangeBounds};

use crate::dtype::DType;
use crate::tensor::{TensorMut, TensorRef};

/// An element type a device tensor can hold.
///
/// # Safety
///
/// `DTYPE.size()` must equal `size_of::<Self>()` and the type must be plain data (any bit
/// pattern the kernels write is a valid value).
pub unsafe trait DeviceRepr: Copy + Send + Sync + 'static {
    /// The dtype tensors of this element type have.
    const DTYPE: DType;
}

macro_rules! storage_types {
    ($($(#[$doc:meta])* $name:ident($bits:ty) = $dtype:ident;)*) => {$(
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub $bits);
        // SAFETY: repr(transparent) over an integer of the dtype's size; every bit pattern is a
        // value.
        unsafe impl DeviceRepr for $name {
            const DTYPE: DType = DType::$dtype;
        }
    )*};
}
storage_types! {
    /// An f16 value as stored on the device (its bits); for typed f16 buffers.
    F16(u16) = F16;
    /// A bfloat16 value as stored on the device (its bits).
    Bf16(u16) = Bf16;
    /// An fp8 e4m3 value as stored on the device (its bits).
    F8E4m3(u8) = F8E4m3;
    /// An fp8 e5m2 value as stored on the device (its bits).
    F8E5m2(u8) = F8E5m2;
}
// SAFETY: primitive types of the dtype's size; every bit pattern is a value.
unsafe impl DeviceRepr for f32 {
    const DTYPE: DType = DType::F32;
}
// SAFETY: as above.
unsafe impl DeviceRepr for i32 {
    const DTYPE: DType = DType::I32;
}
// SAFETY: as above.
unsafe impl DeviceRepr for u8 {
    const DTYPE: DType = DType::U8;
}
// SAFETY: as above.
unsafe impl DeviceRepr for u64 {
    const DTYPE: DType = DType::U64;
}

/// An owner of device memory that views can borrow safely: implement it once for an engine's
/// buffer type, then build views with [`DeviceSlice::of`] and [`DeviceSliceMut::of`].
///
/// # Safety
///
/// While the value is borrowed (and until work enqueued with a view of it has completed),
/// `device_ptr() .. device_ptr() + len() * size_of::<Elem>()` must be one live allocation, or a
/// part of one, on the device that runs the work; through `&mut self` nothing else may write or
/// read it meanwhile.
///
/// ```
/// use baracuda_flashinfer::{DeviceAllocation, DeviceSlice, F16};
///
/// /// An engine's own buffer (allocation and freeing elsewhere).
/// struct Buffer {
///     ptr: u64,
///     len: usize,
/// }
/// // SAFETY: `ptr` is a live allocation of `len` f16 values for the life of the Buffer.
/// unsafe impl DeviceAllocation for Buffer {
///     type Elem = F16;
///     fn device_ptr(&self) -> u64 {
///         self.ptr
///     }
///     fn len(&self) -> usize {
///         self.len
///     }
/// }
///
/// let buffer = Buffer { ptr: 0x7000_0000, len: 4096 };
/// let view = DeviceSlice::of(&buffer);
/// assert_eq!(view.len(), 4096);
/// ```
pub unsafe trait DeviceAllocation {
    /// The element type.
    type Elem: DeviceRepr;
    /// The device address of the first element.
    fn device_ptr(&self) -> u64;
    /// The number of elements.
    fn len(&self) -> usize;
    /// True when `len()` is 0.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The element range `range` selects of `len` elements, or `None` past the end.
fn select(range: impl RangeBounds<usize>, len: usize) -> Option<(usize, usize)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1)?,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    (start <= end && end <= len).then_some((start, end - start))
}

fn offset<T>(ptr: u64, elements: usize) -> u64 {
    ptr + (elements * core::mem::size_of::<T>()) as u64
}

/// A read-only view of `len` device elements of type `T`, borrowed for `'a` (like `&'a [T]`,
/// but the memory is on the device and is never dereferenced on the host).
///
/// `Copy`, `Send` and `Sync`: it is an address and a length; the host never touches the memory
/// through it, and device reads from several threads' calls do not race.
///
/// ```
/// use baracuda_flashinfer::DeviceSlice;
///
/// // A CUdeviceptr from cudarc / candle / cudaMalloc, with the buffer's length:
/// let (ptr, len) = (0x7000_0000_u64, 1024);
/// // SAFETY: (in real code) `ptr` holds `len` i32 values for as long as the view and the work
/// // enqueued with it live.
/// let ids = unsafe { DeviceSlice::<i32>::from_raw(ptr, len) };
/// let (head, tail) = ids.split_at(1000).unwrap();
/// assert_eq!((head.len(), tail.len()), (1000, 24));
/// assert_eq!(tail.device_ptr(), ptr + 4000);
/// ```
#[derive(Debug)]
pub struct DeviceSlice<'a, T> {
    ptr: u64,
    len: usize,
    _borrow: PhantomData<&'a [T]>,
}

impl<T> Clone for DeviceSlice<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for DeviceSlice<'_, T> {}

impl<'a, T: DeviceRepr> DeviceSlice<'a, T> {
    /// A view of `len` elements at device address `ptr` (a `CUdeviceptr`).
    ///
    /// # Safety
    ///
    /// `ptr .. ptr + len * size_of::<T>()` is one live device allocation (or part of one) on
    /// the device that runs the work, readable for `'a` and until all work enqueued with this
    /// view has completed (for a captured CUDA graph: while the graph is replayed), and nothing
    /// writes it meanwhile except through the calls it is passed to.
    pub unsafe fn from_raw(ptr: u64, len: usize) -> Self {
        DeviceSlice {
            ptr,
            len,
            _borrow: PhantomData,
        }
    }

    /// [`from_raw`](Self::from_raw) for a pointer-typed handle (`*const c_void`, a
    /// `cudaMalloc` result).
    ///
    /// # Safety
    ///
    /// As [`from_raw`](Self::from_raw).
    pub unsafe fn from_raw_ptr(ptr: *const c_void, len: usize) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Self::from_raw(ptr as usize as u64, len) }
    }

    /// A view of all of `owner`'s memory, borrowed from it.
    pub fn of<A: DeviceAllocation<Elem = T> + ?Sized>(owner: &'a A) -> Self {
        // SAFETY: DeviceAllocation's contract, for as long as `owner` is borrowed.
        unsafe { Self::from_raw(owner.device_ptr(), owner.len()) }
    }

    /// The device address of the first element.
    pub fn device_ptr(&self) -> u64 {
        self.ptr
    }

    /// The device address as a pointer (for raw FFI calls).
    pub fn as_ptr(&self) -> *const c_void {
        self.ptr as usize as *const c_void
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a view of no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements `range` selects (`view.get(2..10)`), or `None` past the end.
    pub fn get(self, range: impl RangeBounds<usize>) -> Option<Self> {
        let (start, len) = select(range, self.len)?;
        // SAFETY: a part of this view's memory, under the same contract.
        Some(unsafe { Self::from_raw(offset::<T>(self.ptr, start), len) })
    }

    /// The first `mid` elements and the rest, or `None` when `mid > len()`.
    pub fn split_at(self, mid: usize) -> Option<(Self, Self)> {
        Some((self.get(..mid)?, self.get(mid..)?))
    }

    /// A dense row-major tensor of this shape over the view (checked against a plan, the
    /// view's length included, when passed to `run`).
    pub fn tensor<const N: usize>(self, shape: [usize; N]) -> TensorRef<'a, N> {
        TensorRef::new(self, shape)
    }

    /// A tensor with explicit strides (in elements) over the view.
    pub fn tensor_strided<const N: usize>(
        self,
        shape: [usize; N],
        strides: [usize; N],
    ) -> TensorRef<'a, N> {
        TensorRef::strided(self, shape, strides)
    }
}

/// A writable view of `len` device elements of type `T`, borrowed for `'a` (like
/// `&'a mut [T]`). Not `Copy`: [`reborrow`](Self::reborrow) it to pass it to one call and keep
/// it for the next.
///
/// `Send` and `Sync`: an address and a length; the host never touches the memory through it,
/// and the exclusive borrow keeps two of this crate's calls from writing it at once.
///
/// ```
/// use baracuda_flashinfer::DeviceSliceMut;
///
/// // SAFETY: (in real code) 0x7000_0000 holds 64 writable f32 values, not otherwise in use.
/// let mut out = unsafe { DeviceSliceMut::<f32>::from_raw(0x7000_0000, 64) };
/// let first = out.reborrow().get(..32).unwrap(); // ends before `out` is used again
/// assert_eq!(first.len(), 32);
/// let whole = out.into_slice();
/// assert_eq!(whole.len(), 64);
/// ```
#[derive(Debug)]
pub struct DeviceSliceMut<'a, T> {
    ptr: u64,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

impl<'a, T: DeviceRepr> DeviceSliceMut<'a, T> {
    /// A writable view of `len` elements at device address `ptr` (a `CUdeviceptr`).
    ///
    /// # Safety
    ///
    /// As [`DeviceSlice::from_raw`], and writable, and not read or written by anything else
    /// (another view included) until all work enqueued with this view has completed.
    pub unsafe fn from_raw(ptr: u64, len: usize) -> Self {
        DeviceSliceMut {
            ptr,
            len,
            _borrow: PhantomData,
        }
    }

    /// [`from_raw`](Self::from_raw) for a pointer-typed handle (`*mut c_void`).
    ///
    /// # Safety
    ///
    /// As [`from_raw`](Self::from_raw).
    pub unsafe fn from_raw_ptr(ptr: *mut c_void, len: usize) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Self::from_raw(ptr as usize as u64, len) }
    }

    /// A writable view of all of `owner`'s memory, borrowed from it exclusively.
    pub fn of<A: DeviceAllocation<Elem = T> + ?Sized>(owner: &'a mut A) -> Self {
        // SAFETY: DeviceAllocation's contract, for as long as `owner` is borrowed mutably.
        unsafe { Self::from_raw(owner.device_ptr(), owner.len()) }
    }

    /// A shorter-lived writable view of the same memory (as `&mut *slice`).
    pub fn reborrow(&mut self) -> DeviceSliceMut<'_, T> {
        // SAFETY: the same memory; `self` cannot be used while the result lives.
        unsafe { DeviceSliceMut::from_raw(self.ptr, self.len) }
    }

    /// A read-only view for as long as `self` is borrowed.
    pub fn as_slice(&self) -> DeviceSlice<'_, T> {
        // SAFETY: the same memory; no write through `self` while the result lives.
        unsafe { DeviceSlice::from_raw(self.ptr, self.len) }
    }

    /// The read-only view this becomes.
    pub fn into_slice(self) -> DeviceSlice<'a, T> {
        // SAFETY: the same memory for the same lifetime, now read only.
        unsafe { DeviceSlice::from_raw(self.ptr, self.len) }
    }

    /// The device address of the first element.
    pub fn device_ptr(&self) -> u64 {
        self.ptr
    }

    /// The device address as a pointer (for raw FFI calls).
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.ptr as usize as *mut c_void
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a view of no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements `range` selects, or `None` past the end.
    pub fn get(self, range: impl RangeBounds<usize>) -> Option<Self> {
        let (start, len) = select(range, self.len)?;
        // SAFETY: a part of this view's memory, under the same contract.
        Some(unsafe { Self::from_raw(offset::<T>(self.ptr, start), len) })
    }

    /// The first `mid` elements and the rest (two disjoint writable views), or `None` when
    /// `mid > len()`.
    pub fn split_at(self, mid: usize) -> Option<(Self, Self)> {
        if mid > self.len {
            return None;
        }
        // SAFETY: two disjoint parts of this view's memory, under the same contract.
        unsafe {
            Some((
                Self::from_raw(self.ptr, mid),
                Self::from_raw(offset::<T>(self.ptr, mid), self.len - mid),
            ))
        }
    }

    /// A dense row-major writable tensor of this shape over the view.
    pub fn tensor<const N: usize>(self, shape: [usize; N]) -> TensorMut<'a, N> {
        TensorMut::new(self, shape)
    }

    /// A writable tensor with explicit strides (in elements) over the view.
    pub fn tensor_strided<const N: usize>(
        self,
        shape: [usize; N],
        strides: [usize; N],
    ) -> TensorMut<'a, N> {
        TensorMut::strided(self, shape, strides)
    }
}
