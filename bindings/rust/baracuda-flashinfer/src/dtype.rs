//! Element types of tensors ([`DType`]) and the attention kernels' type pairs ([`Element`]).
use core::fmt;

use crate::sys;

/// The element type of one tensor, as the kernels store it.
///
/// ```
/// use baracuda_flashinfer::DType;
///
/// assert_eq!(DType::Bf16.size(), 2);
/// assert_eq!(DType::F8E4m3.to_string(), "f8_e4m3");
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE half precision.
    F16,
    /// bfloat16.
    Bf16,
    /// IEEE single precision.
    F32,
    /// fp8 e4m3 (KV caches).
    F8E4m3,
    /// fp8 e5m2 (KV caches).
    F8E5m2,
    /// 32-bit signed integer (page ids, token ids, per-row `k`).
    I32,
    /// Byte (the samplers' `valid` flags).
    U8,
    /// 64-bit unsigned integer (device seed and offset of the samplers).
    U64,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::F16 | DType::Bf16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F8E4m3 | DType::F8E5m2 | DType::U8 => 1,
            DType::U64 => 8,
        }
    }

    /// Its name in messages ("f16", "bf16", "f32", "f8_e4m3", ...).
    pub const fn name(self) -> &'static str {
        match self {
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F8E4m3 => "f8_e4m3",
            DType::F8E5m2 => "f8_e5m2",
            DType::I32 => "i32",
            DType::U8 => "u8",
            DType::U64 => "u64",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The attention kernels' element codes (`enum baracuda_flashinfer_element`): the type of Q and
/// O and, for the fp8 variants, the KV cache's type. fp8 values are used as stored (no scale:
/// fold a K scale into `sm_scale` and apply a V scale to the output).
///
/// ```
/// use baracuda_flashinfer::{DType, Element};
///
/// assert_eq!(Element::Bf16KvE4m3.query_dtype(), DType::Bf16);
/// assert_eq!(Element::Bf16KvE4m3.kv_dtype(), DType::F8E4m3);
/// assert_eq!(Element::from_code(Element::F32.code()), Some(Element::F32));
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Element {
    /// Q, K, V, O in f16.
    F16,
    /// Q, K, V, O in bf16.
    Bf16,
    /// Q, K, V, O in f32.
    F32,
    /// Q and O f16, K and V fp8 e4m3.
    F16KvE4m3,
    /// Q and O f16, K and V fp8 e5m2.
    F16KvE5m2,
    /// Q and O bf16, K and V fp8 e4m3.
    Bf16KvE4m3,
    /// Q and O bf16, K and V fp8 e5m2.
    Bf16KvE5m2,
}

impl Element {
    /// Every element code, in code order.
    pub const ALL: [Element; 7] = [
        Element::F16,
        Element::Bf16,
        Element::F32,
        Element::F16KvE4m3,
        Element::F16KvE5m2,
        Element::Bf16KvE4m3,
        Element::Bf16KvE5m2,
    ];

    /// The C element code.
    pub const fn code(self) -> i32 {
        match self {
            Element::F16 => sys::BARACUDA_FLASHINFER_F16,
            Element::Bf16 => sys::BARACUDA_FLASHINFER_BF16,
            Element::F32 => sys::BARACUDA_FLASHINFER_F32,
            Element::F16KvE4m3 => sys::BARACUDA_FLASHINFER_F16_E4M3,
            Element::F16KvE5m2 => sys::BARACUDA_FLASHINFER_F16_E5M2,
            Element::Bf16KvE4m3 => sys::BARACUDA_FLASHINFER_BF16_E4M3,
            Element::Bf16KvE5m2 => sys::BARACUDA_FLASHINFER_BF16_E5M2,
        }
    }

    /// The element of a C code; `None` for a code this crate does not know.
    pub fn from_code(code: i32) -> Option<Element> {
        Element::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The dtype of Q and O (and of the other non-cache tensors of that type).
    pub const fn query_dtype(self) -> DType {
        match self {
            Element::F16 | Element::F16KvE4m3 | Element::F16KvE5m2 => DType::F16,
            Element::Bf16 | Element::Bf16KvE4m3 | Element::Bf16KvE5m2 => DType::Bf16,
            Element::F32 => DType::F32,
        }
    }

    /// The dtype of the K and V caches.
    pub const fn kv_dtype(self) -> DType {
        match self {
            Element::F16KvE4m3 | Element::Bf16KvE4m3 => DType::F8E4m3,
            Element::F16KvE5m2 | Element::Bf16KvE5m2 => DType::F8E5m2,
            other => other.query_dtype(),
        }
    }

    /// Its name in messages ("f16", "bf16_e4m3", ...), as the C library writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Element::F16 => "f16",
            Element::Bf16 => "bf16",
            Element::F32 => "f32",
            Element::F16KvE4m3 => "f16_e4m3",
            Element::F16KvE5m2 => "f16_e5m2",
            Element::Bf16KvE4m3 => "bf16_e4m3",
            Element::Bf16KvE5m2 => "bf16_e5m2",
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The three tensor types of the append, merge and logits kernels, by their place in the C
/// symbol names (`_f16`, `_bf16`, `_f32`); anything else is unsupported.
pub(crate) fn float_variant(dtype: DType, function: &'static str) -> crate::Result<usize> {
    match dtype {
        DType::F16 => Ok(0),
        DType::Bf16 => Ok(1),
        DType::F32 => Ok(2),
        other => Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            function,
            format!("dtype {other} is not supported (f16, bf16, f32)"),
        )),
    }
}
