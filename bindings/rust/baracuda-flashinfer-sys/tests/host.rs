//! Host-only checks against the linked library: no GPU is touched.
use baracuda_flashinfer_sys as sys;
use std::ffi::CStr;

fn cstr(p: *const core::ffi::c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

#[test]
fn version_matches_the_bindings() {
    assert_eq!(
        unsafe { sys::baracuda_kernels_flashinfer_version() },
        sys::BARACUDA_FLASHINFER_VERSION
    );
    let text = cstr(unsafe { sys::baracuda_kernels_flashinfer_version_string() });
    let expected = format!(
        "{}.{}.{} (",
        sys::BARACUDA_FLASHINFER_VERSION_MAJOR,
        sys::BARACUDA_FLASHINFER_VERSION_MINOR,
        sys::BARACUDA_FLASHINFER_VERSION_PATCH
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains("flashinfer"), "{text}");
}

#[test]
fn status_strings() {
    let name = |s| cstr(unsafe { sys::baracuda_kernels_flashinfer_status_string(s) });
    assert_eq!(name(sys::BARACUDA_FLASHINFER_SUCCESS), "success");
    assert_eq!(
        name(sys::BARACUDA_FLASHINFER_MISALIGNED_OPERAND),
        "misaligned operand"
    );
    assert_eq!(
        name(sys::BARACUDA_FLASHINFER_INVALID_PROBLEM),
        "invalid problem"
    );
    assert_eq!(name(sys::BARACUDA_FLASHINFER_UNSUPPORTED), "unsupported");
    assert_eq!(
        name(sys::BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL),
        "workspace too small"
    );
    assert_eq!(name(sys::BARACUDA_FLASHINFER_CUDA_ERROR), "CUDA error");
    assert_eq!(name(sys::BARACUDA_FLASHINFER_INTERNAL), "internal error");
    assert_eq!(name(12345), "unknown status"); // unknown codes are never UB: no Rust enum
}

#[test]
#[allow(deprecated)] // paged_decode_workspace_size, the legacy size, on purpose
fn decode_can_implement_answers() {
    let can = |b, hq, hkv, d, p, e| unsafe {
        sys::baracuda_kernels_flashinfer_paged_decode_can_implement(b, hq, hkv, d, p, e)
    };
    for e in [
        sys::BARACUDA_FLASHINFER_F16,
        sys::BARACUDA_FLASHINFER_BF16,
        sys::BARACUDA_FLASHINFER_F32,
    ] {
        assert_eq!(
            can(8, 32, 8, 128, 16, e),
            sys::BARACUDA_FLASHINFER_SUCCESS,
            "element {e}"
        );
    }
    assert_eq!(
        can(8, 32, 8, 100, 16, 0),
        sys::BARACUDA_FLASHINFER_UNSUPPORTED
    );
    assert!(
        cstr(unsafe { sys::baracuda_kernels_flashinfer_last_error() }).contains("head_dim 100")
    );
    assert_eq!(
        can(8, 30, 8, 128, 16, 0),
        sys::BARACUDA_FLASHINFER_INVALID_PROBLEM
    );
    assert_eq!(
        can(0, 32, 8, 128, 16, 0),
        sys::BARACUDA_FLASHINFER_INVALID_PROBLEM
    );
    assert_eq!(
        can(8, 32, 8, 128, 16, 7),
        sys::BARACUDA_FLASHINFER_INVALID_PROBLEM
    );
    // The per-element form (the existing ABI's order: page_size, head_dim, then the heads).
    let per = unsafe {
        sys::baracuda_kernels_flashinfer_paged_decode_f16_can_implement(8, 16, 128, 32, 8, 1.0)
    };
    assert_eq!(per, sys::BARACUDA_FLASHINFER_SUCCESS);
    // Success clears the thread's message.
    assert_eq!(
        cstr(unsafe { sys::baracuda_kernels_flashinfer_last_error() }),
        ""
    );
    assert_eq!(
        unsafe { sys::baracuda_kernels_flashinfer_paged_decode_workspace_size(8) },
        (3 * 8 + 2) * 4
    );
}
