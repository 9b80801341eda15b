//! The host checks every plan runs before calling the library: each names the tensor, the
//! dimension and what was expected, and fails with the status the C library would give.
use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::{DeviceRepr, DeviceSlice, DeviceSliceMut};
use crate::tensor::{dense_strides, RawTensor};
use crate::workspace::Workspace;

/// A dimension any size satisfies.
pub(crate) const ANY: usize = usize::MAX;

/// What a tensor of a plan must be.
pub(crate) struct Expect<'n, const N: usize> {
    pub dtype: DType,
    /// The shape; [`ANY`] leaves a dimension free.
    pub shape: [usize; N],
    /// Names of the dimensions, for messages.
    pub dims: [&'n str; N],
    /// Alignment of the address in bytes.
    pub align: usize,
    /// Dimensions from here on must have dense row-major strides; the outer ones are free.
    pub dense_from: usize,
}

/// The checks of one call: `function` is the method that fails (`DecodePlan::run`).
#[derive(Copy, Clone)]
pub(crate) struct Check {
    pub function: &'static str,
}

impl Check {
    pub(crate) fn fail(&self, kind: ErrorKind, message: String) -> Error {
        Error::new(kind, self.function, message)
    }

    fn invalid(&self, message: String) -> Error {
        self.fail(ErrorKind::InvalidProblem, message)
    }

    /// `name` has `expect`'s dtype, shape, strides and alignment and fits its allocation.
    pub(crate) fn tensor<const N: usize>(
        &self,
        name: &str,
        t: &RawTensor<N>,
        expect: &Expect<'_, N>,
    ) -> Result<()> {
        if t.dtype != expect.dtype {
            return Err(self.invalid(format!(
                "{name}: dtype is {}, expected {}",
                t.dtype, expect.dtype
            )));
        }
        for i in 0..N {
            if expect.shape[i] != ANY && t.shape[i] != expect.shape[i] {
                return Err(self.invalid(format!(
                    "{name}: dimension {i} ({}) is {}, expected {}",
                    expect.dims[i], t.shape[i], expect.shape[i]
                )));
            }
        }
        let dense = dense_strides(&t.shape);
        for (i, &want) in dense.iter().enumerate().skip(expect.dense_from) {
            if t.shape[i] > 1 && t.strides[i] != want {
                return Err(self.invalid(format!(
                    "{name}: stride of dimension {i} ({}) is {}, expected {want} (dense row-major)",
                    expect.dims[i], t.strides[i]
                )));
            }
        }
        let extent = t.extent().ok_or_else(|| {
            self.invalid(format!(
                "{name}: shape {:?} with strides {:?} overflows",
                t.shape, t.strides
            ))
        })?;
        if extent > t.capacity {
            return Err(self.invalid(format!(
                "{name}: shape {:?} with strides {:?} reaches {extent} elements, but its \
                 allocation holds {} {}",
                t.shape, t.strides, t.capacity, t.dtype
            )));
        }
        self.address(name, t.ptr, extent, expect.align)
    }

    /// A non-empty operand has a non-NULL, aligned address.
    fn address(&self, name: &str, ptr: u64, elements: usize, align: usize) -> Result<()> {
        if ptr == 0 {
            if elements == 0 {
                return Ok(());
            }
            return Err(self.invalid(format!("{name}: device pointer is NULL")));
        }
        if ptr % align as u64 != 0 {
            return Err(self.fail(
                ErrorKind::MisalignedOperand,
                format!("{name}: device pointer {ptr:#x} is not {align}-byte aligned"),
            ));
        }
        Ok(())
    }

    /// A 1-D operand of exactly `len` elements (`what` says where that number comes from).
    pub(crate) fn len<T: DeviceRepr>(
        &self,
        name: &str,
        s: &DeviceSlice<'_, T>,
        len: usize,
        what: &str,
    ) -> Result<()> {
        if s.len() != len {
            return Err(self.invalid(format!(
                "{name}: length is {}, expected {len} ({what})",
                s.len()
            )));
        }
        self.address(name, s.device_ptr(), len, T::DTYPE.size())
    }

    /// [`len`](Self::len) for a written operand.
    pub(crate) fn len_mut<T: DeviceRepr>(
        &self,
        name: &str,
        s: &DeviceSliceMut<'_, T>,
        len: usize,
        what: &str,
    ) -> Result<()> {
        self.len(name, &s.as_slice(), len, what)
    }

    /// A 1-D operand of at least `len` elements.
    pub(crate) fn min_len<T: DeviceRepr>(
        &self,
        name: &str,
        s: &DeviceSlice<'_, T>,
        len: usize,
        what: &str,
    ) -> Result<()> {
        if s.len() < len {
            return Err(self.invalid(format!(
                "{name}: length is {}, expected at least {len} ({what})",
                s.len()
            )));
        }
        self.address(name, s.device_ptr(), s.len(), T::DTYPE.size())
    }

    /// Dimension `dim` of `name` equals the one of `other` it must match.
    pub(crate) fn same(
        &self,
        name: &str,
        dim: usize,
        dim_name: &str,
        got: usize,
        other: &str,
        value: usize,
    ) -> Result<()> {
        if got != value {
            return Err(self.invalid(format!(
                "{name}: dimension {dim} ({dim_name}) is {got}, expected {value} (as {other})"
            )));
        }
        Ok(())
    }

    /// The workspace holds at least `required` bytes (16-byte aligned) for `plan`.
    pub(crate) fn workspace(&self, w: &Workspace<'_>, required: usize, plan: &str) -> Result<()> {
        if required == 0 {
            return Ok(());
        }
        if w.bytes() == 0 {
            return Err(self.fail(
                ErrorKind::WorkspaceTooSmall,
                format!(
                    "workspace: missing; this {plan} needs {required} bytes (workspace_size())"
                ),
            ));
        }
        if w.bytes() < required {
            return Err(self.fail(
                ErrorKind::WorkspaceTooSmall,
                format!(
                    "workspace: {} bytes is too small; this {plan} needs {required} bytes \
                     (workspace_size())",
                    w.bytes()
                ),
            ));
        }
        self.address("workspace", w.device_ptr(), w.bytes(), 16)
    }
}

/// A size of a descriptor as the C ABI's `int32_t`; larger values are unsupported.
pub(crate) fn to_i32(function: &'static str, name: &str, value: usize) -> Result<i32> {
    i32::try_from(value).map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            function,
            format!("{name} {value} does not fit the C ABI's int32_t"),
        )
    })
}

/// The softmax scale an attention plan uses: the caller's, or 1 / sqrt(head_dim). The C runs
/// scale the running maximum, so the scale must be positive and finite.
pub(crate) fn resolve_sm_scale(
    function: &'static str,
    sm_scale: Option<f32>,
    head_dim: usize,
) -> Result<f32> {
    let scale = sm_scale.unwrap_or(1.0 / (head_dim as f32).sqrt());
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(Error::new(
            ErrorKind::InvalidProblem,
            function,
            format!("sm_scale must be positive and finite, usually 1/sqrt(head_dim) (got {scale})"),
        ));
    }
    Ok(scale)
}

/// Alignment the samplers need for a row-major `[batch, vocab]` input of `dtype`:
/// `size * gcd(16 / size, vocab)` bytes (the C library's rule).
pub(crate) fn row_alignment(dtype: DType, vocab: usize) -> usize {
    let (mut a, mut b) = (16 / dtype.size(), vocab);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    dtype.size() * a
}
