//! N-dimensional tensor views over device memory: [`TensorRef`] (read) and [`TensorMut`]
//! (written). A view is a device address, a runtime [`DType`], a shape, strides (in elements)
//! and the number of elements its allocation holds. Building one checks nothing; the plan's
//! `run` checks every view (dtype, shape, strides, alignment, and that the view fits its
//! allocation) before anything is enqueued, and names the tensor that is wrong.
use core::marker::PhantomData;

use crate::dtype::DType;
use crate::memory::{DeviceRepr, DeviceSlice, DeviceSliceMut};

/// What a view is, without its borrow: what the checks and the FFI calls read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawTensor<const N: usize> {
    pub(crate) ptr: u64,
    pub(crate) dtype: DType,
    pub(crate) shape: [usize; N],
    pub(crate) strides: [usize; N],
    /// Elements of `dtype` the allocation holds from `ptr` on.
    pub(crate) capacity: usize,
}

/// Dense row-major strides of `shape` (saturating: an overflowing shape fails the checks).
pub(crate) fn dense_strides<const N: usize>(shape: &[usize; N]) -> [usize; N] {
    let mut strides = [0; N];
    let mut step = 1usize;
    for i in (0..N).rev() {
        strides[i] = step;
        step = step.saturating_mul(shape[i]);
    }
    strides
}

impl<const N: usize> RawTensor<N> {
    fn new(
        ptr: u64,
        dtype: DType,
        shape: [usize; N],
        strides: [usize; N],
        capacity: usize,
    ) -> Self {
        RawTensor {
            ptr,
            dtype,
            shape,
            strides,
            capacity,
        }
    }

    /// One past the last element the view reaches (0 for an empty view); `None` on overflow.
    pub(crate) fn extent(&self) -> Option<usize> {
        if self.shape.contains(&0) {
            return Some(0);
        }
        self.shape
            .iter()
            .zip(&self.strides)
            .try_fold(1usize, |end, (&d, &s)| {
                end.checked_add((d - 1).checked_mul(s)?)
            })
    }

    pub(crate) fn as_ptr(&self) -> *const core::ffi::c_void {
        self.ptr as usize as *const core::ffi::c_void
    }

    pub(crate) fn as_mut_ptr(&self) -> *mut core::ffi::c_void {
        self.ptr as usize as *mut core::ffi::c_void
    }
}

macro_rules! view_accessors {
    () => {
        /// The element type.
        pub fn dtype(&self) -> DType {
            self.raw.dtype
        }

        /// The shape.
        pub fn shape(&self) -> [usize; N] {
            self.raw.shape
        }

        /// The strides, in elements.
        pub fn strides(&self) -> [usize; N] {
            self.raw.strides
        }

        /// The device address of element 0.
        pub fn device_ptr(&self) -> u64 {
            self.raw.ptr
        }

        /// How many elements of [`dtype`](Self::dtype) the allocation holds from the view's
        /// start on.
        pub fn capacity(&self) -> usize {
            self.raw.capacity
        }

        /// True when the strides are dense row-major (dimensions of size 1 ignored).
        pub fn is_contiguous(&self) -> bool {
            let dense = dense_strides(&self.raw.shape);
            (0..N).all(|i| self.raw.shape[i] <= 1 || self.raw.strides[i] == dense[i])
        }
    };
}

/// A read-only view of a device tensor, borrowed for `'a`; `Copy`, `Send` and `Sync` (see
/// [`DeviceSlice`]).
///
/// ```
/// use baracuda_flashinfer::{DType, DeviceSlice, F16, TensorRef};
///
/// // SAFETY: (in real code) a live allocation of 8 * 32 * 128 f16 values.
/// let q = unsafe { DeviceSlice::<F16>::from_raw(0x7000_0000, 8 * 32 * 128) };
/// let view = q.tensor([8, 32, 128]);
/// assert_eq!(view.dtype(), DType::F16);
/// assert_eq!(view.strides(), [32 * 128, 128, 1]);
///
/// // A dtype chosen at run time (from a model config) over untyped bytes:
/// // SAFETY: as above, 2 MiB.
/// let bytes = unsafe { DeviceSlice::<u8>::from_raw(0x7100_0000, 2 << 20) };
/// let k = TensorRef::from_bytes(bytes, DType::Bf16, [64, 8, 16, 128]);
/// assert_eq!(k.capacity(), 1 << 20);
/// ```
#[derive(Copy, Clone, Debug)]
pub struct TensorRef<'a, const N: usize> {
    pub(crate) raw: RawTensor<N>,
    _borrow: PhantomData<&'a ()>,
}

impl<'a, const N: usize> TensorRef<'a, N> {
    /// A dense row-major view of `shape` over `slice` (the dtype is `T`'s).
    pub fn new<T: DeviceRepr>(slice: DeviceSlice<'a, T>, shape: [usize; N]) -> Self {
        Self::strided(slice, shape, dense_strides(&shape))
    }

    /// A view with explicit strides (in elements) over `slice`.
    pub fn strided<T: DeviceRepr>(
        slice: DeviceSlice<'a, T>,
        shape: [usize; N],
        strides: [usize; N],
    ) -> Self {
        let raw = RawTensor::new(slice.device_ptr(), T::DTYPE, shape, strides, slice.len());
        TensorRef {
            raw,
            _borrow: PhantomData,
        }
    }

    /// A dense row-major view of `shape` and a run-time `dtype` over untyped device bytes.
    pub fn from_bytes(bytes: DeviceSlice<'a, u8>, dtype: DType, shape: [usize; N]) -> Self {
        Self::from_bytes_strided(bytes, dtype, shape, dense_strides(&shape))
    }

    /// [`from_bytes`](Self::from_bytes) with explicit strides (in elements of `dtype`).
    pub fn from_bytes_strided(
        bytes: DeviceSlice<'a, u8>,
        dtype: DType,
        shape: [usize; N],
        strides: [usize; N],
    ) -> Self {
        let capacity = bytes.len() / dtype.size();
        let raw = RawTensor::new(bytes.device_ptr(), dtype, shape, strides, capacity);
        TensorRef {
            raw,
            _borrow: PhantomData,
        }
    }

    view_accessors!();
}

/// A writable view of a device tensor, borrowed for `'a`; `Send` and `Sync`, not `Copy` (see
/// [`DeviceSliceMut`]).
///
/// ```
/// use baracuda_flashinfer::{DeviceSliceMut, F16};
///
/// // SAFETY: (in real code) a live, otherwise unused allocation of 8 * 32 * 128 f16 values.
/// let o = unsafe { DeviceSliceMut::<F16>::from_raw(0x7000_0000, 8 * 32 * 128) };
/// let mut out = o.tensor([8, 32, 128]);
/// let this_step = out.reborrow(); // pass this to one run, keep `out` for the next
/// assert_eq!(this_step.shape(), [8, 32, 128]);
/// ```
#[derive(Debug)]
pub struct TensorMut<'a, const N: usize> {
    pub(crate) raw: RawTensor<N>,
    _borrow: PhantomData<&'a mut ()>,
}

impl<'a, const N: usize> TensorMut<'a, N> {
    /// A dense row-major writable view of `shape` over `slice`.
    pub fn new<T: DeviceRepr>(slice: DeviceSliceMut<'a, T>, shape: [usize; N]) -> Self {
        Self::strided(slice, shape, dense_strides(&shape))
    }

    /// A writable view with explicit strides (in elements) over `slice`.
    pub fn strided<T: DeviceRepr>(
        slice: DeviceSliceMut<'a, T>,
        shape: [usize; N],
        strides: [usize; N],
    ) -> Self {
        let raw = RawTensor::new(slice.device_ptr(), T::DTYPE, shape, strides, slice.len());
        TensorMut {
            raw,
            _borrow: PhantomData,
        }
    }

    /// A dense row-major writable view of `shape` and a run-time `dtype` over untyped bytes.
    pub fn from_bytes(bytes: DeviceSliceMut<'a, u8>, dtype: DType, shape: [usize; N]) -> Self {
        let capacity = bytes.len() / dtype.size();
        let raw = RawTensor::new(
            bytes.device_ptr(),
            dtype,
            shape,
            dense_strides(&shape),
            capacity,
        );
        TensorMut {
            raw,
            _borrow: PhantomData,
        }
    }

    /// A shorter-lived writable view of the same tensor.
    pub fn reborrow(&mut self) -> TensorMut<'_, N> {
        TensorMut {
            raw: self.raw,
            _borrow: PhantomData,
        }
    }

    /// A read-only view for as long as `self` is borrowed.
    pub fn as_view(&self) -> TensorRef<'_, N> {
        TensorRef {
            raw: self.raw,
            _borrow: PhantomData,
        }
    }

    /// The read-only view this becomes.
    pub fn into_ref(self) -> TensorRef<'a, N> {
        TensorRef {
            raw: self.raw,
            _borrow: PhantomData,
        }
    }

    view_accessors!();
}
