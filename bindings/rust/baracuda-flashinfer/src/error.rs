//! The error type: a status kind, the function that failed and its message.
use core::fmt;
use std::ffi::CStr;

use crate::sys;

/// What went wrong: the C status codes (`enum baracuda_flashinfer_status`), plus
/// [`Other`](ErrorKind::Other) for a code this crate does not know (a newer library may add
/// codes; they are carried, never misread).
///
/// [`Unsupported`](ErrorKind::Unsupported) means "valid, but not built or not available on this
/// device": the answer that makes an engine fall back to another kernel. The others are bugs in
/// the call (or, for [`Cuda`](ErrorKind::Cuda), a failing device).
///
/// ```
/// use baracuda_flashinfer::ErrorKind;
///
/// assert_eq!(ErrorKind::from_code(3), Some(ErrorKind::Unsupported));
/// assert_eq!(ErrorKind::from_code(0), None); // success is no error
/// assert_eq!(ErrorKind::from_code(77), Some(ErrorKind::Other(77)));
/// assert_eq!(ErrorKind::Other(77).code(), 77);
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A pointer lacks the alignment it needs (status 1).
    MisalignedOperand,
    /// A size, pointer, tensor or value is invalid (status 2).
    InvalidProblem,
    /// Valid, but no kernel is built for it or the device cannot run it (status 3).
    Unsupported,
    /// The workspace is missing or smaller than the plan needs (status 4).
    WorkspaceTooSmall,
    /// The CUDA runtime failed; the message carries its text (status 5).
    Cuda,
    /// A bug in the library (status 6).
    Internal,
    /// A status code this crate does not know (never 0).
    Other(i32),
}

impl ErrorKind {
    /// The kind of a C status code; `None` for 0 (success).
    pub const fn from_code(code: i32) -> Option<ErrorKind> {
        Some(match code {
            sys::BARACUDA_FLASHINFER_SUCCESS => return None,
            sys::BARACUDA_FLASHINFER_MISALIGNED_OPERAND => ErrorKind::MisalignedOperand,
            sys::BARACUDA_FLASHINFER_INVALID_PROBLEM => ErrorKind::InvalidProblem,
            sys::BARACUDA_FLASHINFER_UNSUPPORTED => ErrorKind::Unsupported,
            sys::BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL => ErrorKind::WorkspaceTooSmall,
            sys::BARACUDA_FLASHINFER_CUDA_ERROR => ErrorKind::Cuda,
            sys::BARACUDA_FLASHINFER_INTERNAL => ErrorKind::Internal,
            other => ErrorKind::Other(other),
        })
    }

    /// The C status code.
    pub const fn code(self) -> i32 {
        match self {
            ErrorKind::MisalignedOperand => sys::BARACUDA_FLASHINFER_MISALIGNED_OPERAND,
            ErrorKind::InvalidProblem => sys::BARACUDA_FLASHINFER_INVALID_PROBLEM,
            ErrorKind::Unsupported => sys::BARACUDA_FLASHINFER_UNSUPPORTED,
            ErrorKind::WorkspaceTooSmall => sys::BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL,
            ErrorKind::Cuda => sys::BARACUDA_FLASHINFER_CUDA_ERROR,
            ErrorKind::Internal => sys::BARACUDA_FLASHINFER_INTERNAL,
            ErrorKind::Other(code) => code,
        }
    }

    /// The status' name, as the C `baracuda_kernels_flashinfer_status_string` gives it
    /// ("invalid problem", ...; "unknown status" for [`Other`](ErrorKind::Other)).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::MisalignedOperand => "misaligned operand",
            ErrorKind::InvalidProblem => "invalid problem",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::WorkspaceTooSmall => "workspace too small",
            ErrorKind::Cuda => "CUDA error",
            ErrorKind::Internal => "internal error",
            ErrorKind::Other(_) => "unknown status",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// A failed call: its [`ErrorKind`], the function that failed and the message.
///
/// For a failure the C library reports, [`function`](Error::function) is the C symbol
/// (`baracuda_kernels_flashinfer_paged_decode_can_implement`) and
/// [`message`](Error::message) the library's thread-local message
/// (`baracuda_kernels_flashinfer_last_error()`, copied at once), which names the argument and
/// the limit. For a check this crate makes before calling the library (tensor views against a
/// plan), `function` is the Rust method (`DecodePlan::run`) and the message names the tensor,
/// the dimension and what was expected.
///
/// ```
/// use baracuda_flashinfer::{DecodeDesc, DecodePlan, Element, ErrorKind};
///
/// let err = DecodePlan::new(&DecodeDesc {
///     batch_size: 8,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 100, // not built
///     page_size: 16,
///     element: Element::F16,
///     split_kv: false,
///     ..DecodeDesc::default()
/// })
/// .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// assert!(err.function().starts_with("baracuda_kernels_flashinfer_paged_decode"));
/// assert!(err.message().contains("head_dim 100"));
/// println!("{err}"); // "<function>: unsupported (3): head_dim 100 is not built ..."
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    function: &'static str,
    message: String,
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// An error with this kind, failing function and message.
    pub fn new(kind: ErrorKind, function: &'static str, message: impl Into<String>) -> Error {
        Error {
            kind,
            function,
            message: message.into(),
        }
    }

    /// The error a C function's non-zero status means, with the calling thread's last-error
    /// message (read now: it lives only until the thread's next call into the library).
    /// `None` for status 0.
    pub fn from_status(code: i32, function: &'static str) -> Option<Error> {
        let kind = ErrorKind::from_code(code)?;
        // SAFETY: last_error() is never NULL and points at a NUL-terminated thread-local string
        // that stays valid until this thread's next call into the library; it is copied here.
        let message = unsafe { CStr::from_ptr(sys::baracuda_kernels_flashinfer_last_error()) };
        Some(Error::new(kind, function, message.to_string_lossy()))
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The C status code ([`ErrorKind::code`]).
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// The C function that returned the status, or the method of this crate whose check
    /// failed.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// The message: the library's, or this crate's naming the argument.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for [`ErrorKind::Unsupported`]: valid, but not available here; fall back.
    pub fn is_unsupported(&self) -> bool {
        self.kind == ErrorKind::Unsupported
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The library's messages start with the function's name already: say it once.
        let message = self
            .message
            .strip_prefix(self.function)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(&self.message);
        write!(f, "{}: {}", self.function, self.kind)?;
        if !message.is_empty() {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for status 0, else the [`Error`] it means.
pub(crate) fn status(code: i32, function: &'static str) -> Result<()> {
    match Error::from_status(code, function) {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Calls a `sys` function that returns a status and turns the status into a `Result`, naming
/// the C function. The call is unsafe: the caller states why its arguments are valid.
macro_rules! ffi {
    ($function:ident ( $($arg:expr),* $(,)? )) => {
        $crate::error::status(
            $crate::sys::$function($($arg),*),
            ::core::stringify!($function),
        )
    };
}
pub(crate) use ffi;
