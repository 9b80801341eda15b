//! Host tests of every plan (no GPU): each wrong tensor (dtype, shape, stride, allocation
//! length, alignment), a missing or small workspace and swapped sizes are caught by the plan's
//! own checks (the error names the plan method, so nothing reached the library, let alone a
//! launch), with a message naming the argument; and each pointer the plans pass reaches the C
//! function in its own slot: with the host checks bypassed (`launch`) and exactly one pointer
//! misaligned, the C function's answer (status 1, before it touches CUDA) names that argument
//! and echoes its address.
//!
//! The views point at fake device addresses that nothing ever dereferences: every call here
//! fails validation, on the host or in the C library, before any CUDA call.
use crate::*;

/// Hands out distinct, 4 KiB-aligned fake device addresses.
struct Fake(u64);

impl Fake {
    fn new() -> Self {
        Fake(0x7f00_0000_0000)
    }

    fn addr(&mut self, bytes: usize) -> u64 {
        let a = self.0;
        self.0 += (bytes as u64 / 4096 + 2) * 4096;
        a
    }

    fn ro<T: DeviceRepr>(&mut self, len: usize) -> DeviceSlice<'static, T> {
        let a = self.addr(len * T::DTYPE.size());
        // SAFETY: never dereferenced (see the module comment).
        unsafe { DeviceSlice::from_raw(a, len) }
    }

    fn rw<T: DeviceRepr>(&mut self, len: usize) -> DeviceSliceMut<'static, T> {
        let a = self.addr(len * T::DTYPE.size());
        // SAFETY: never dereferenced.
        unsafe { DeviceSliceMut::from_raw(a, len) }
    }
}

/// `view` moved by `bytes` (a misaligned copy of it, same length).
fn shifted<T: DeviceRepr>(view: DeviceSlice<'static, T>, bytes: u64) -> DeviceSlice<'static, T> {
    // SAFETY: never dereferenced.
    unsafe { DeviceSlice::from_raw(view.device_ptr() + bytes, view.len()) }
}

fn shifted_mut<T: DeviceRepr>(
    view: DeviceSliceMut<'static, T>,
    bytes: u64,
) -> DeviceSliceMut<'static, T> {
    // SAFETY: never dereferenced.
    unsafe { DeviceSliceMut::from_raw(view.device_ptr() + bytes, view.len()) }
}

#[track_caller]
fn expect_err<T: core::fmt::Debug>(r: Result<T>, kind: ErrorKind, function: &str, needle: &str) {
    let err = r.expect_err("the call must fail");
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.function(), function, "{err}");
    assert!(
        err.message().contains(needle),
        "expected {needle:?} in: {err}"
    );
}

/// A check of this crate failed: nothing reached the library.
#[track_caller]
fn host_rejects<T: core::fmt::Debug>(r: Result<T>, function: &str, needle: &str) {
    let err = r.expect_err("the call must fail");
    assert_eq!(err.function(), function, "{err}");
    assert!(
        err.message().contains(needle),
        "expected {needle:?} in: {err}"
    );
}

/// The C function answered status 1 for the argument `c_name` at `address`.
#[track_caller]
fn c_names_slot(r: Result<()>, c_function: &str, c_name: &str, address: u64) {
    let err = r.expect_err("the misaligned call must fail");
    assert_eq!(err.function(), c_function, "{err}");
    assert_eq!(err.kind(), ErrorKind::MisalignedOperand, "{err}");
    let needle = format!("{c_name} ({address:#x}) must be");
    assert!(
        err.message().contains(&needle),
        "expected {needle:?} in: {err}"
    );
}

const RUN: &str = "DecodePlan::run";

type MakeTable = fn(&mut Fake) -> PageTable<'static>;

// ---- decode ---------------------------------------------------------------------------------

const B: usize = 3;
const HQ: usize = 8;
const HKV: usize = 2;
const D: usize = 64;
const P: usize = 16;
const PAGES: usize = 11;

fn decode_desc(element: Element) -> DecodeDesc {
    DecodeDesc {
        batch_size: B,
        num_qo_heads: HQ,
        num_kv_heads: HKV,
        head_dim: D,
        page_size: P,
        element,
        split_kv: false,
        ..DecodeDesc::default()
    }
}

fn pages(f: &mut Fake, batch: usize) -> PageTable<'static> {
    // SAFETY: never used on a device.
    unsafe { PageTable::new(f.ro(PAGES), f.ro(batch + 1), f.ro(batch)) }
}

/// Tensors `plan` accepts, for element bf16: q / o [B, HQ, D], caches [PAGES, HKV, P, D].
fn decode_args(f: &mut Fake) -> DecodeArgs<'static> {
    DecodeArgs {
        q: f.ro::<Bf16>(B * HQ * D).tensor([B, HQ, D]),
        k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        pages: pages(f, B),
        o: f.rw::<Bf16>(B * HQ * D).tensor([B, HQ, D]),
        lse: Some(f.rw::<f32>(B * HQ).tensor([B, HQ])),
        sinks: None,
    }
}

#[test]
fn decode_plan_validates_through_c() {
    let plan = DecodePlan::new(&decode_desc(Element::Bf16)).unwrap();
    assert_eq!(plan.workspace_size(), 0);
    assert_eq!(plan.desc().sm_scale, Some(1.0 / 8.0));
    // head_dim the library does not build: the per-element C _can_implement says so.
    let unsupported = DecodeDesc {
        head_dim: 96,
        ..decode_desc(Element::F16)
    };
    expect_err(
        DecodePlan::new(&unsupported),
        ErrorKind::Unsupported,
        "baracuda_kernels_flashinfer_paged_decode_f16_can_implement",
        "head_dim 96",
    );
    // Hq % Hkv != 0, and a batch past the limit.
    let bad_heads = DecodeDesc {
        num_qo_heads: 7,
        ..decode_desc(Element::F16)
    };
    expect_err(
        DecodePlan::new(&bad_heads),
        ErrorKind::InvalidProblem,
        "baracuda_kernels_flashinfer_paged_decode_f16_can_implement",
        "num_qo_heads",
    );
    // A size the C ABI's int32 cannot carry never reaches the library truncated.
    let huge = DecodeDesc {
        batch_size: 1 << 40,
        ..decode_desc(Element::F16)
    };
    expect_err(
        DecodePlan::new(&huge),
        ErrorKind::Unsupported,
        "DecodePlan::new",
        "batch_size 1099511627776",
    );
    let nan = DecodeDesc {
        sm_scale: Some(f32::NAN),
        ..decode_desc(Element::F16)
    };
    expect_err(
        DecodePlan::new(&nan),
        ErrorKind::InvalidProblem,
        "DecodePlan::new",
        "sm_scale",
    );
    // Tensor cores take f16 / bf16 only: the run_with C _can_implement refuses f32.
    let tc_f32 = DecodeDesc {
        kernel: DecodeKernel::TensorCores,
        split_kv: false,
        ..decode_desc(Element::F32)
    };
    let err = DecodePlan::new(&tc_f32).unwrap_err();
    assert!(
        err.function().starts_with("baracuda_kernels_flashinfer_"),
        "{err}"
    );
    assert!(
        matches!(err.kind(), ErrorKind::Unsupported | ErrorKind::Cuda),
        "{err}"
    );
    // Every element builds a host plan (and its dtypes are the element's).
    for element in Element::ALL {
        DecodePlan::new(&decode_desc(element)).unwrap();
    }
}

#[test]
fn decode_run_checks_every_tensor_before_any_launch() {
    let plan = DecodePlan::new(&decode_desc(Element::Bf16)).unwrap();
    let mut f = Fake::new();
    plan.check(&decode_args(&mut f), &Workspace::none())
        .unwrap();
    let check = |a: DecodeArgs<'static>| plan.check(&a, &Workspace::none());

    // dtype
    let mut a = decode_args(&mut f);
    a.q = f.ro::<F16>(B * HQ * D).tensor([B, HQ, D]);
    host_rejects(check(a), RUN, "q: dtype is f16, expected bf16");
    let mut a = decode_args(&mut f);
    a.lse = Some(f.rw::<Bf16>(B * HQ).tensor([B, HQ]));
    host_rejects(check(a), RUN, "lse: dtype is bf16, expected f32");
    // shape
    let mut a = decode_args(&mut f);
    a.o = f.rw::<Bf16>(B * HKV * D).tensor([B, HKV, D]);
    host_rejects(
        check(a),
        RUN,
        "o: dimension 1 (num_qo_heads) is 2, expected 8",
    );
    let mut a = decode_args(&mut f);
    a.v_cache = f
        .ro::<Bf16>(PAGES * HKV * P * D)
        .tensor([PAGES - 1, HKV, P, D]);
    host_rejects(
        check(a),
        RUN,
        "v_cache: dimension 0 (num_pages) is 10, expected 11 (as k_cache)",
    );
    // strides: a transposed cache is not dense
    let mut a = decode_args(&mut f);
    let strides = [HKV * P * D, D, HKV * D, 1];
    a.k_cache = f
        .ro::<Bf16>(PAGES * HKV * P * D)
        .tensor_strided([PAGES, HKV, P, D], strides);
    host_rejects(
        check(a),
        RUN,
        "k_cache: stride of dimension 1 (num_kv_heads) is 64, expected 1024",
    );
    // allocation length
    let mut a = decode_args(&mut f);
    a.q = f.ro::<Bf16>(B * HQ * D - 1).tensor([B, HQ, D]);
    host_rejects(check(a), RUN, "q: shape [3, 8, 64] with strides [512, 64, 1] reaches 1536 elements, but its allocation holds 1535 bf16");
    // page table lengths
    let mut a = decode_args(&mut f);
    a.pages = unsafe { PageTable::new(f.ro(PAGES), f.ro(B), f.ro(B)) };
    host_rejects(
        check(a),
        RUN,
        "pages.indptr: length is 3, expected 4 (batch + 1)",
    );
    let mut a = decode_args(&mut f);
    a.pages = unsafe { PageTable::new(f.ro(PAGES), f.ro(B + 1), f.ro(B + 1)) };
    host_rejects(
        check(a),
        RUN,
        "pages.last_page_len: length is 4, expected 3 (batch)",
    );
    let mut a = decode_args(&mut f);
    a.pages = unsafe { PageTable::without_last_page_len(f.ro(PAGES), f.ro(B + 1)) };
    host_rejects(check(a), RUN, "pages.last_page_len: missing");
    // alignment (the plan's own check, before the library's)
    let mut a = decode_args(&mut f);
    a.q = shifted(f.ro::<Bf16>(B * HQ * D + 8), 2).tensor([B, HQ, D]);
    let err = check(a).unwrap_err();
    assert_eq!(
        (err.kind(), err.function()),
        (ErrorKind::MisalignedOperand, RUN),
        "{err}"
    );
    assert!(err.message().starts_with("q: device pointer 0x7f"), "{err}");
    // NULL
    let mut a = decode_args(&mut f);
    a.o = unsafe { DeviceSliceMut::<Bf16>::from_raw(0, B * HQ * D) }.tensor([B, HQ, D]);
    host_rejects(check(a), RUN, "o: device pointer is NULL");
}

#[test]
fn decode_run_checks_the_workspace() {
    let plan = DecodePlan::new(&decode_desc(Element::Bf16))
        .unwrap()
        .with_workspace_bytes(4096);
    let mut f = Fake::new();
    let err = plan
        .check(&decode_args(&mut f), &Workspace::none())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WorkspaceTooSmall);
    assert_eq!(
        err.to_string(),
        "DecodePlan::run: workspace too small (4): workspace: missing; this DecodePlan needs 4096 \
         bytes (workspace_size())"
    );
    let small = Workspace::new(f.rw(4095));
    host_rejects(
        plan.check(&decode_args(&mut f), &small),
        RUN,
        "workspace: 4095 bytes is too small",
    );
    let misaligned = Workspace::new(shifted_mut(f.rw(8192), 8));
    host_rejects(
        plan.check(&decode_args(&mut f), &misaligned),
        RUN,
        "workspace: device pointer",
    );
    plan.check(&decode_args(&mut f), &Workspace::new(f.rw(4096)))
        .unwrap();
}

#[test]
fn decode_swapped_sizes_are_caught() {
    // The descriptor's batch and page size swapped (both valid for the library): the tensors,
    // built for the real problem, disagree with the plan and the run says where.
    let swapped = DecodeDesc {
        batch_size: P,
        page_size: B,
        ..decode_desc(Element::Bf16)
    };
    let plan = DecodePlan::new(&swapped).unwrap();
    let mut f = Fake::new();
    host_rejects(
        plan.check(&decode_args(&mut f), &Workspace::none()),
        RUN,
        "q: dimension 0 (batch) is 3, expected 16",
    );
    // Head counts swapped: Hq = 2, Hkv = 8 fails in the library already (Hq % Hkv).
    let heads = DecodeDesc {
        num_qo_heads: HKV,
        num_kv_heads: HQ,
        ..decode_desc(Element::Bf16)
    };
    expect_err(
        DecodePlan::new(&heads),
        ErrorKind::InvalidProblem,
        "baracuda_kernels_flashinfer_paged_decode_bf16_can_implement",
        "num_qo_heads",
    );
}

#[test]
fn decode_pointers_reach_their_c_slots() {
    let mut f = Fake::new();
    let s = Stream::per_thread();
    let auto = DecodePlan::new(&decode_desc(Element::Bf16))
        .unwrap()
        .with_workspace_bytes(4096);
    let forced = DecodePlan::new(&DecodeDesc {
        kernel: DecodeKernel::CudaCores,
        ..decode_desc(Element::Bf16)
    })
    .unwrap()
    .with_workspace_bytes(4096);
    for (plan, c_function) in [
        (&auto, "baracuda_kernels_flashinfer_paged_decode_bf16_run"),
        (&forced, "baracuda_kernels_flashinfer_paged_decode_run_with"),
    ] {
        let launch = |a: DecodeArgs<'static>, ws: &mut Workspace<'static>| plan.launch(s, &a, ws);
        let ws = || Workspace::new(Fake::new().rw(4096));
        let mut a = decode_args(&mut f);
        a.q = shifted(f.ro::<Bf16>(B * HQ * D + 8), 2).tensor([B, HQ, D]);
        let addr = a.q.device_ptr();
        c_names_slot(launch(a, &mut ws()), c_function, "q", addr);
        let mut a = decode_args(&mut f);
        a.o = shifted_mut(f.rw::<Bf16>(B * HQ * D + 8), 2).tensor([B, HQ, D]);
        let addr = a.o.device_ptr();
        c_names_slot(launch(a, &mut ws()), c_function, "o", addr);
        let mut a = decode_args(&mut f);
        a.k_cache = shifted(f.ro::<Bf16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
        let addr = a.k_cache.device_ptr();
        c_names_slot(launch(a, &mut ws()), c_function, "k_data", addr);
        let mut a = decode_args(&mut f);
        a.v_cache = shifted(f.ro::<Bf16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
        let addr = a.v_cache.device_ptr();
        c_names_slot(launch(a, &mut ws()), c_function, "v_data", addr);
        let tables: [(&str, MakeTable); 3] = [
            ("indices", |f| unsafe {
                PageTable::new(shifted(f.ro(PAGES), 2), f.ro(B + 1), f.ro(B))
            }),
            ("indptr", |f| unsafe {
                PageTable::new(f.ro(PAGES), shifted(f.ro(B + 1), 2), f.ro(B))
            }),
            ("last_page_len", |f| unsafe {
                PageTable::new(f.ro(PAGES), f.ro(B + 1), shifted(f.ro(B), 2))
            }),
        ];
        for (name, table) in tables {
            let mut a = decode_args(&mut f);
            a.pages = table(&mut f);
            let addr = match name {
                "indices" => a.pages.indices().device_ptr(),
                "indptr" => a.pages.indptr().device_ptr(),
                _ => a.pages.last_page_len().unwrap().device_ptr(),
            };
            c_names_slot(launch(a, &mut ws()), c_function, name, addr);
        }
        let mut a = decode_args(&mut f);
        a.lse = Some(shifted_mut(f.rw::<f32>(B * HQ + 1), 2).tensor([B, HQ]));
        let addr = a.lse.as_ref().unwrap().device_ptr();
        c_names_slot(launch(a, &mut ws()), c_function, "lse", addr);
        let mut misaligned = Workspace::new(shifted_mut(f.rw(8192), 8));
        let addr = misaligned.device_ptr();
        c_names_slot(
            launch(decode_args(&mut f), &mut misaligned),
            c_function,
            "workspace",
            addr,
        );
    }
}

// ---- append ---------------------------------------------------------------------------------

fn append_desc(dtype: DType) -> AppendDesc {
    AppendDesc {
        batch_size: B,
        num_heads: HKV,
        head_dim: D,
        page_size: P,
        dtype,
    }
}

fn append_args(f: &mut Fake) -> AppendArgs<'static> {
    AppendArgs {
        key: f.ro::<F16>(B * HKV * D).tensor([B, HKV, D]),
        value: f.ro::<F16>(B * HKV * D).tensor([B, HKV, D]),
        k_cache: f.rw::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.rw::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        pages: pages(f, B),
    }
}

const T: usize = 5;

fn tokens_args(f: &mut Fake) -> AppendTokensArgs<'static> {
    AppendTokensArgs {
        key: f.ro::<F16>(T * HKV * D).tensor([T, HKV, D]),
        value: f.ro::<F16>(T * HKV * D).tensor([T, HKV, D]),
        k_cache: f.rw::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.rw::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        pages: unsafe { PageTable::without_last_page_len(f.ro(PAGES), f.ro(B + 1)) },
        batch_indices: f.ro(T),
        positions: f.ro(T),
    }
}

#[test]
fn append_plans_validate_through_c() {
    AppendPlan::new(&append_desc(DType::Bf16)).unwrap();
    AppendTokensPlan::new(&append_desc(DType::F32), 4096).unwrap();
    expect_err(
        AppendPlan::new(&append_desc(DType::F8E4m3)),
        ErrorKind::Unsupported,
        "AppendPlan::new",
        "dtype f8_e4m3 is not supported",
    );
    let bad = AppendDesc {
        head_dim: 80,
        ..append_desc(DType::F16)
    };
    expect_err(
        AppendPlan::new(&bad),
        ErrorKind::Unsupported,
        "baracuda_kernels_flashinfer_paged_kv_append_decode_f16_can_implement",
        "head_dim",
    );
    let err = AppendTokensPlan::new(&append_desc(DType::F16), 0).unwrap_err();
    assert_eq!(
        err.function(),
        "baracuda_kernels_flashinfer_paged_kv_append_f16_can_implement"
    );
    assert!(err.message().contains("num_tokens"), "{err}");
}

#[test]
fn append_runs_check_every_tensor() {
    let plan = AppendPlan::new(&append_desc(DType::F16)).unwrap();
    let mut f = Fake::new();
    plan.check(&append_args(&mut f)).unwrap();
    const RUN: &str = "AppendPlan::run";
    let mut a = append_args(&mut f);
    a.value = f.ro::<Bf16>(B * HKV * D).tensor([B, HKV, D]);
    host_rejects(plan.check(&a), RUN, "value: dtype is bf16, expected f16");
    let mut a = append_args(&mut f);
    a.k_cache = f.rw::<F16>(PAGES * HKV * P * D).tensor([PAGES, P, HKV, D]);
    host_rejects(
        plan.check(&a),
        RUN,
        "k_cache: dimension 1 (num_heads) is 16, expected 2",
    );
    let mut a = append_args(&mut f);
    a.v_cache = f
        .rw::<F16>(PAGES * HKV * P * D - 1)
        .tensor([PAGES, HKV, P, D]);
    host_rejects(plan.check(&a), RUN, "v_cache: shape [11, 2, 16, 64]");
    let mut a = append_args(&mut f);
    a.key = f
        .ro::<F16>(B * HKV * D * 2)
        .tensor_strided([B, HKV, D], [HKV * D * 2, D * 2, 2]);
    host_rejects(
        plan.check(&a),
        RUN,
        "key: stride of dimension 0 (tokens) is 256, expected 128",
    );
    // Batch and page size swapped in the descriptor.
    let swapped = AppendPlan::new(&AppendDesc {
        batch_size: P,
        page_size: B,
        ..append_desc(DType::F16)
    })
    .unwrap();
    host_rejects(
        swapped.check(&append_args(&mut f)),
        RUN,
        "key: dimension 0 (tokens) is 3, expected 16",
    );

    let tokens = AppendTokensPlan::new(&append_desc(DType::F16), T).unwrap();
    const TOK: &str = "AppendTokensPlan::run";
    tokens.check(&tokens_args(&mut f)).unwrap();
    let mut a = tokens_args(&mut f);
    a.key = f.ro::<F16>((T + 1) * HKV * D).tensor([T + 1, HKV, D]);
    host_rejects(
        tokens.check(&a),
        TOK,
        "key: dimension 0 (tokens) is 6, must be in [1, 5]",
    );
    let mut a = tokens_args(&mut f);
    a.key = f.ro::<F16>(0).tensor([0, HKV, D]);
    host_rejects(tokens.check(&a), TOK, "key: dimension 0 (tokens) is 0");
    let mut a = tokens_args(&mut f);
    a.value = f.ro::<F16>(4 * HKV * D).tensor([4, HKV, D]);
    host_rejects(
        tokens.check(&a),
        TOK,
        "value: dimension 0 (tokens) is 4, expected 5",
    );
    let mut a = tokens_args(&mut f);
    a.positions = f.ro(T - 1);
    host_rejects(
        tokens.check(&a),
        TOK,
        "positions: length is 4, expected 5 (tokens, as key)",
    );
    let mut a = tokens_args(&mut f);
    a.pages = pages(&mut f, B - 1);
    host_rejects(
        tokens.check(&a),
        TOK,
        "pages.indptr: length is 3, expected 4 (batch + 1)",
    );
}

#[test]
fn append_pointers_reach_their_c_slots() {
    let plan = AppendPlan::new(&append_desc(DType::F16)).unwrap();
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let c = "baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run";
    let mut a = append_args(&mut f);
    a.key = shifted(f.ro::<F16>(B * HKV * D + 8), 2).tensor([B, HKV, D]);
    let addr = a.key.device_ptr();
    c_names_slot(plan.launch(s, &a), c, "key", addr);
    let mut a = append_args(&mut f);
    a.value = shifted(f.ro::<F16>(B * HKV * D + 8), 2).tensor([B, HKV, D]);
    let addr = a.value.device_ptr();
    c_names_slot(plan.launch(s, &a), c, "value", addr);
    let mut a = append_args(&mut f);
    a.k_cache = shifted_mut(f.rw::<F16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
    let addr = a.k_cache.device_ptr();
    c_names_slot(plan.launch(s, &a), c, "k_data", addr);
    let mut a = append_args(&mut f);
    a.v_cache = shifted_mut(f.rw::<F16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
    let addr = a.v_cache.device_ptr();
    c_names_slot(plan.launch(s, &a), c, "v_data", addr);
    let mut a = append_args(&mut f);
    a.pages = unsafe { PageTable::new(f.ro(PAGES), f.ro(B + 1), shifted(f.ro(B), 2)) };
    let addr = a.pages.last_page_len().unwrap().device_ptr();
    c_names_slot(plan.launch(s, &a), c, "last_page_len", addr);
    let mut a = append_args(&mut f);
    a.pages = unsafe { PageTable::new(shifted(f.ro(PAGES), 2), f.ro(B + 1), f.ro(B)) };
    let addr = a.pages.indices().device_ptr();
    c_names_slot(plan.launch(s, &a), c, "indices", addr);

    let tokens = AppendTokensPlan::new(&append_desc(DType::F16), T).unwrap();
    let c = "baracuda_kernels_flashinfer_paged_kv_append_f16_run";
    let mut a = tokens_args(&mut f);
    a.batch_indices = shifted(f.ro(T), 2);
    let addr = a.batch_indices.device_ptr();
    c_names_slot(tokens.launch(s, &a), c, "batch_indices", addr);
    let mut a = tokens_args(&mut f);
    a.positions = shifted(f.ro(T), 2);
    let addr = a.positions.device_ptr();
    c_names_slot(tokens.launch(s, &a), c, "positions", addr);
    let mut a = tokens_args(&mut f);
    a.pages = unsafe { PageTable::without_last_page_len(f.ro(PAGES), shifted(f.ro(B + 1), 2)) };
    let addr = a.pages.indptr().device_ptr();
    c_names_slot(tokens.launch(s, &a), c, "indptr", addr);
    let mut a = tokens_args(&mut f);
    a.key = shifted(f.ro::<F16>(T * HKV * D + 8), 2).tensor([T, HKV, D]);
    let addr = a.key.device_ptr();
    c_names_slot(tokens.launch(s, &a), c, "key", addr);
}

// ---- merge ----------------------------------------------------------------------------------

const SEQ: usize = 6;
const STATES: usize = 3;

fn merge_desc() -> MergeDesc {
    MergeDesc {
        seq_len: SEQ,
        num_heads: HQ,
        head_dim: D,
        dtype: DType::F32,
    }
}

fn in_place_args(f: &mut Fake) -> MergeInPlaceArgs<'static> {
    MergeInPlaceArgs {
        v: f.rw::<f32>(SEQ * HQ * D).tensor([SEQ, HQ, D]),
        s: f.rw::<f32>(SEQ * HQ).tensor([SEQ, HQ]),
        v_other: f.ro::<f32>(SEQ * HQ * D).tensor([SEQ, HQ, D]),
        s_other: f.ro::<f32>(SEQ * HQ).tensor([SEQ, HQ]),
    }
}

fn states_args(f: &mut Fake) -> MergeStatesArgs<'static> {
    MergeStatesArgs {
        v: f.ro::<f32>(SEQ * STATES * HQ * D)
            .tensor([SEQ, STATES, HQ, D]),
        s: f.ro::<f32>(SEQ * STATES * HQ).tensor([SEQ, STATES, HQ]),
        v_merged: f.rw::<f32>(SEQ * HQ * D).tensor([SEQ, HQ, D]),
        s_merged: Some(f.rw::<f32>(SEQ * HQ).tensor([SEQ, HQ])),
    }
}

fn varlen_args(f: &mut Fake, rows: usize) -> MergeVarlenArgs<'static> {
    MergeVarlenArgs {
        v: f.ro::<f32>(rows * HQ * D).tensor([rows, HQ, D]),
        s: f.ro::<f32>(rows * HQ).tensor([rows, HQ]),
        indptr: f.ro(SEQ + 1),
        v_merged: f.rw::<f32>(SEQ * HQ * D).tensor([SEQ, HQ, D]),
        s_merged: None,
    }
}

#[test]
fn merge_plans_check_every_tensor() {
    let mut f = Fake::new();
    let in_place = MergeInPlacePlan::new(&merge_desc()).unwrap();
    in_place.check(&in_place_args(&mut f)).unwrap();
    const IP: &str = "MergeInPlacePlan::run";
    let mut a = in_place_args(&mut f);
    a.s_other = f.ro::<F16>(SEQ * HQ).tensor([SEQ, HQ]);
    host_rejects(
        in_place.check(&a),
        IP,
        "s_other: dtype is f16, expected f32",
    );
    let mut a = in_place_args(&mut f);
    a.v_other = f.ro::<f32>(SEQ * HQ * D).tensor([HQ, SEQ, D]);
    host_rejects(
        in_place.check(&a),
        IP,
        "v_other: dimension 0 (seq_len) is 8, expected 6",
    );
    let mut a = in_place_args(&mut f);
    a.s = f.rw::<f32>(SEQ * HQ - 1).tensor([SEQ, HQ]);
    host_rejects(in_place.check(&a), IP, "s: shape [6, 8]");
    expect_err(
        MergeInPlacePlan::new(&MergeDesc {
            head_dim: 100,
            ..merge_desc()
        }),
        ErrorKind::Unsupported,
        "baracuda_kernels_flashinfer_merge_state_in_place_f32_can_implement",
        "head_dim",
    );

    let states = MergeStatesPlan::new(&merge_desc(), STATES).unwrap();
    const MS: &str = "MergeStatesPlan::run";
    states.check(&states_args(&mut f)).unwrap();
    let mut a = states_args(&mut f);
    a.v = f.ro::<f32>(SEQ * 2 * HQ * D).tensor([SEQ, 2, HQ, D]);
    host_rejects(
        states.check(&a),
        MS,
        "v: dimension 1 (num_states) is 2, expected 3",
    );
    let mut a = states_args(&mut f);
    a.s_merged = Some(f.rw::<f32>(SEQ * HQ).tensor_strided([SEQ, HQ], [1, SEQ]));
    host_rejects(
        states.check(&a),
        MS,
        "s_merged: stride of dimension 0 (seq_len) is 1, expected 8",
    );

    let varlen = MergeVarlenPlan::new(&merge_desc()).unwrap();
    const MV: &str = "MergeVarlenPlan::run";
    varlen.check(&varlen_args(&mut f, 17)).unwrap();
    let mut a = varlen_args(&mut f, 17);
    a.s = f.ro::<f32>(16 * HQ).tensor([16, HQ]);
    host_rejects(
        varlen.check(&a),
        MV,
        "s: dimension 0 (rows) is 16, expected 17 (as v)",
    );
    let mut a = varlen_args(&mut f, 17);
    a.indptr = f.ro(SEQ);
    host_rejects(
        varlen.check(&a),
        MV,
        "indptr: length is 6, expected 7 (seq_len + 1)",
    );
    let mut a = varlen_args(&mut f, 17);
    a.v_merged = f.rw::<f32>(SEQ * HQ * D).tensor([SEQ, HQ * D / 2, 2]);
    host_rejects(
        varlen.check(&a),
        MV,
        "v_merged: dimension 1 (num_heads) is 256, expected 8",
    );
}

#[test]
fn merge_pointers_reach_their_c_slots() {
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let in_place = MergeInPlacePlan::new(&merge_desc()).unwrap();
    let c = "baracuda_kernels_flashinfer_merge_state_in_place_f32_run";
    let mut a = in_place_args(&mut f);
    a.v = shifted_mut(f.rw::<f32>(SEQ * HQ * D + 4), 4).tensor([SEQ, HQ, D]);
    let addr = a.v.device_ptr();
    c_names_slot(in_place.launch(s, &a), c, "v", addr);
    let mut a = in_place_args(&mut f);
    a.s = shifted_mut(f.rw::<f32>(SEQ * HQ + 1), 2).tensor([SEQ, HQ]);
    let addr = a.s.device_ptr();
    c_names_slot(in_place.launch(s, &a), c, "s", addr);
    let mut a = in_place_args(&mut f);
    a.v_other = shifted(f.ro::<f32>(SEQ * HQ * D + 4), 4).tensor([SEQ, HQ, D]);
    let addr = a.v_other.device_ptr();
    c_names_slot(in_place.launch(s, &a), c, "v_other", addr);
    let mut a = in_place_args(&mut f);
    a.s_other = shifted(f.ro::<f32>(SEQ * HQ + 1), 2).tensor([SEQ, HQ]);
    let addr = a.s_other.device_ptr();
    c_names_slot(in_place.launch(s, &a), c, "s_other", addr);

    let states = MergeStatesPlan::new(&merge_desc(), STATES).unwrap();
    let c = "baracuda_kernels_flashinfer_merge_states_f32_run";
    let mut a = states_args(&mut f);
    a.v_merged = shifted_mut(f.rw::<f32>(SEQ * HQ * D + 4), 4).tensor([SEQ, HQ, D]);
    let addr = a.v_merged.device_ptr();
    c_names_slot(states.launch(s, &a), c, "v_merged", addr);
    let mut a = states_args(&mut f);
    a.s_merged = Some(shifted_mut(f.rw::<f32>(SEQ * HQ + 1), 2).tensor([SEQ, HQ]));
    let addr = a.s_merged.as_ref().unwrap().device_ptr();
    c_names_slot(states.launch(s, &a), c, "s_merged", addr);

    let varlen = MergeVarlenPlan::new(&merge_desc()).unwrap();
    let c = "baracuda_kernels_flashinfer_merge_states_varlen_f32_run";
    let mut a = varlen_args(&mut f, 9);
    a.indptr = shifted(f.ro(SEQ + 1), 2);
    let addr = a.indptr.device_ptr();
    c_names_slot(varlen.launch(s, &a), c, "indptr", addr);
    let mut a = varlen_args(&mut f, 9);
    a.s = shifted(f.ro::<f32>(9 * HQ + 1), 2).tensor([9, HQ]);
    let addr = a.s.device_ptr();
    c_names_slot(varlen.launch(s, &a), c, "s", addr);
}

// ---- shared prefix and cascades -------------------------------------------------------------

fn prefix_desc() -> PrefixDesc {
    PrefixDesc {
        batch_size: B,
        num_qo_heads: HQ,
        num_kv_heads: HKV,
        head_dim: D,
        page_size: P,
        element: Element::F16,
        ..PrefixDesc::default()
    }
}

fn prefix_args(f: &mut Fake) -> SharedPrefixArgs<'static> {
    SharedPrefixArgs {
        q: f.ro::<F16>(B * HQ * D).tensor([B, HQ, D]),
        k_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        prefix: pages(f, 1),
        o: f.rw::<F16>(B * HQ * D).tensor([B, HQ, D]),
        lse: Some(f.rw::<f32>(B * HQ).tensor([B, HQ])),
    }
}

fn cascade_args(f: &mut Fake) -> CascadeArgs<'static> {
    let indices = f.ro(PAGES);
    CascadeArgs {
        q: f.ro::<F16>(B * HQ * D).tensor([B, HQ, D]),
        k_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        prefix: unsafe { PageTable::new(indices, f.ro(2), f.ro(1)) },
        suffixes: unsafe { PageTable::new(indices, f.ro(B + 1), f.ro(B)) },
        o: f.rw::<F16>(B * HQ * D).tensor([B, HQ, D]),
        lse: None,
    }
}

const L: usize = 40;

fn dense_args(f: &mut Fake) -> DensePrefixCascadeArgs<'static> {
    DensePrefixCascadeArgs {
        q: f.ro::<F16>(B * HQ * D).tensor([B, HQ, D]),
        k_prefix: f.ro::<F16>(L * HKV * D).tensor([L, HKV, D]),
        v_prefix: f.ro::<F16>(L * HKV * D).tensor([L, HKV, D]),
        k_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.ro::<F16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        suffixes: pages(f, B),
        o: f.rw::<F16>(B * HQ * D).tensor([B, HQ, D]),
        lse: Some(f.rw::<f32>(B * HQ).tensor([B, HQ])),
    }
}

#[test]
fn prefix_plans_check_every_tensor_and_the_workspace() {
    let mut f = Fake::new();
    let shared = SharedPrefixPlan::without_device(&prefix_desc(), 1024);
    const SP: &str = "SharedPrefixPlan::run";
    let ws = || Workspace::new(Fake::new().rw(1024));
    shared.check(&prefix_args(&mut f), &ws()).unwrap();
    host_rejects(
        shared.check(&prefix_args(&mut f), &Workspace::none()),
        SP,
        "workspace: missing; this SharedPrefixPlan needs 1024 bytes",
    );
    let mut a = prefix_args(&mut f);
    a.prefix = pages(&mut f, B);
    host_rejects(
        shared.check(&a, &ws()),
        SP,
        "prefix.indptr: length is 4, expected 2 (batch + 1)",
    );
    let mut a = prefix_args(&mut f);
    a.q = f.ro::<Bf16>(B * HQ * D).tensor([B, HQ, D]);
    host_rejects(
        shared.check(&a, &ws()),
        SP,
        "q: dtype is bf16, expected f16",
    );

    let cascade = CascadePlan::without_device(&prefix_desc(), 1024);
    const CP: &str = "CascadePlan::run";
    cascade.check(&cascade_args(&mut f), &ws()).unwrap();
    let mut a = cascade_args(&mut f);
    a.suffixes = pages(&mut f, B);
    host_rejects(cascade.check(&a, &ws()), CP, "suffixes.indices");
    let mut a = cascade_args(&mut f);
    a.suffixes = unsafe { PageTable::new(a.prefix.indices(), f.ro(B + 1), f.ro(1)) };
    host_rejects(
        cascade.check(&a, &ws()),
        CP,
        "suffixes.last_page_len: length is 1, expected 3 (batch)",
    );
    let small = Workspace::new(f.rw(1000));
    host_rejects(
        cascade.check(&cascade_args(&mut f), &small),
        CP,
        "workspace: 1000 bytes is too small",
    );

    let dense = DensePrefixCascadePlan::without_device(&prefix_desc(), 1024);
    const DP: &str = "DensePrefixCascadePlan::run";
    dense.check(&dense_args(&mut f), &ws()).unwrap();
    // HND prefix (strides [D, L * D, 1]) is fine, for both.
    let mut a = dense_args(&mut f);
    a.k_prefix = f
        .ro::<F16>(L * HKV * D)
        .tensor_strided([L, HKV, D], [D, L * D, 1]);
    a.v_prefix = f
        .ro::<F16>(L * HKV * D)
        .tensor_strided([L, HKV, D], [D, L * D, 1]);
    dense.check(&a, &ws()).unwrap();
    let mut a = dense_args(&mut f);
    a.v_prefix = f
        .ro::<F16>(L * HKV * D)
        .tensor_strided([L, HKV, D], [D, L * D, 1]);
    host_rejects(
        dense.check(&a, &ws()),
        DP,
        "v_prefix: stride of dimension 0 (prefix_len) is 64, expected 128 (as k_prefix)",
    );
    let mut a = dense_args(&mut f);
    a.k_prefix = f
        .ro::<F16>(L * HKV * D * 2)
        .tensor_strided([L, HKV, D], [HKV * D * 2, D * 2, 2]);
    host_rejects(
        dense.check(&a, &ws()),
        DP,
        "k_prefix: stride of dimension 2 (head_dim) is 2, expected 1",
    );
    let mut a = dense_args(&mut f);
    a.v_prefix = f.ro::<F16>((L - 1) * HKV * D).tensor([L - 1, HKV, D]);
    host_rejects(
        dense.check(&a, &ws()),
        DP,
        "v_prefix: dimension 0 (prefix_len) is 39, expected 40 (as k_prefix)",
    );
    let mut a = dense_args(&mut f);
    a.k_prefix = f.ro::<F16>(0).tensor([0, HKV, D]);
    a.v_prefix = f.ro::<F16>(0).tensor([0, HKV, D]);
    host_rejects(
        dense.check(&a, &ws()),
        DP,
        "k_prefix: dimension 0 (prefix_len) is 0, must be in [1, 2^31)",
    );
    let mut a = dense_args(&mut f);
    a.k_prefix = f.ro::<F16>(L * HKV * D - 1).tensor([L, HKV, D]);
    host_rejects(dense.check(&a, &ws()), DP, "k_prefix: shape [40, 2, 64]");
}

#[test]
fn prefix_pointers_reach_their_c_slots() {
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let ws = || Workspace::new(Fake::new().rw(1 << 30));
    let shared = SharedPrefixPlan::without_device(&prefix_desc(), 0);
    let c = "baracuda_kernels_flashinfer_shared_prefix_decode_run";
    let mut a = prefix_args(&mut f);
    a.prefix = unsafe { PageTable::new(f.ro(PAGES), shifted(f.ro(2), 2), f.ro(1)) };
    let addr = a.prefix.indptr().device_ptr();
    c_names_slot(shared.launch(s, &a, &mut ws()), c, "indptr", addr);
    let mut a = prefix_args(&mut f);
    a.o = shifted_mut(f.rw::<F16>(B * HQ * D + 8), 2).tensor([B, HQ, D]);
    let addr = a.o.device_ptr();
    c_names_slot(shared.launch(s, &a, &mut ws()), c, "o", addr);
    let mut a = prefix_args(&mut f);
    a.k_cache = shifted(f.ro::<F16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
    let addr = a.k_cache.device_ptr();
    c_names_slot(shared.launch(s, &a, &mut ws()), c, "k_data", addr);

    let cascade = CascadePlan::without_device(&prefix_desc(), 0);
    let c = "baracuda_kernels_flashinfer_cascade_decode_run";
    let mut a = cascade_args(&mut f);
    a.suffixes = unsafe { PageTable::new(a.prefix.indices(), shifted(f.ro(B + 1), 2), f.ro(B)) };
    let addr = a.suffixes.indptr().device_ptr();
    c_names_slot(cascade.launch(s, &a, &mut ws()), c, "suffix_indptr", addr);
    let mut a = cascade_args(&mut f);
    a.suffixes = unsafe { PageTable::new(a.prefix.indices(), f.ro(B + 1), shifted(f.ro(B), 2)) };
    let addr = a.suffixes.last_page_len().unwrap().device_ptr();
    c_names_slot(
        cascade.launch(s, &a, &mut ws()),
        c,
        "suffix_last_page_len",
        addr,
    );
    let mut a = cascade_args(&mut f);
    a.prefix = unsafe { PageTable::new(a.prefix.indices(), f.ro(2), shifted(f.ro(1), 2)) };
    let addr = a.prefix.last_page_len().unwrap().device_ptr();
    c_names_slot(cascade.launch(s, &a, &mut ws()), c, "last_page_len", addr);

    let dense = DensePrefixCascadePlan::without_device(&prefix_desc(), 0);
    let c = "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run";
    let mut a = dense_args(&mut f);
    a.suffixes = unsafe { PageTable::new(f.ro(PAGES), shifted(f.ro(B + 1), 2), f.ro(B)) };
    let addr = a.suffixes.indptr().device_ptr();
    c_names_slot(dense.launch(s, &a, &mut ws()), c, "suffix_indptr", addr);
    let mut a = dense_args(&mut f);
    a.k_prefix = shifted(f.ro::<F16>(L * HKV * D + 8), 2).tensor([L, HKV, D]);
    let addr = a.k_prefix.device_ptr();
    c_names_slot(dense.launch(s, &a, &mut ws()), c, "k_prefix", addr);
    let mut a = dense_args(&mut f);
    a.v_prefix = shifted(f.ro::<F16>(L * HKV * D + 8), 2).tensor([L, HKV, D]);
    let addr = a.v_prefix.device_ptr();
    c_names_slot(dense.launch(s, &a, &mut ws()), c, "v_prefix", addr);
}

// ---- sampling -------------------------------------------------------------------------------

const ROWS: usize = 4;
const VOCAB: usize = 1000;

fn sampling_desc(sampler: Sampler) -> SamplingDesc {
    SamplingDesc {
        batch_size: ROWS,
        vocab_size: VOCAB,
        sampler,
        ..SamplingDesc::default()
    }
}

fn sampling_args(f: &mut Fake) -> SamplingArgs<'static> {
    SamplingArgs {
        probs: f.ro::<f32>(ROWS * VOCAB).tensor([ROWS, VOCAB]),
        output: f.rw(ROWS),
        valid: Some(f.rw(ROWS)),
        per_row: PerRow::default(),
        rng: Rng::new(1, 0),
    }
}

const SAMPLERS: [Sampler; 5] = [
    Sampler::FromProbs,
    Sampler::TopK { k: 20 },
    Sampler::TopP { p: 0.9 },
    Sampler::MinP { p: 0.1 },
    Sampler::TopKTopP { k: 20, p: 0.9 },
];

#[test]
fn sampling_plans_validate_through_c() {
    for sampler in SAMPLERS {
        SamplingPlan::new(&sampling_desc(sampler)).unwrap();
    }
    expect_err(
        SamplingPlan::new(&sampling_desc(Sampler::TopP { p: 1.5 })),
        ErrorKind::InvalidProblem,
        "baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement",
        "top_p_val must be in (0, 1]",
    );
    expect_err(
        SamplingPlan::new(&sampling_desc(Sampler::TopK { k: 0 })),
        ErrorKind::InvalidProblem,
        "baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement",
        "top_k_val",
    );
    expect_err(
        SamplingPlan::new(&sampling_desc(Sampler::MinP { p: f32::NAN })),
        ErrorKind::InvalidProblem,
        "baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement",
        "min_p_val",
    );
    let huge = SamplingDesc {
        batch_size: 1 << 21,
        ..sampling_desc(Sampler::FromProbs)
    };
    expect_err(
        SamplingPlan::new(&huge),
        ErrorKind::Unsupported,
        "baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement",
        "batch",
    );
    // A k past int32 means "keep everything", as it does for the C ABI's largest k.
    SamplingPlan::new(&sampling_desc(Sampler::TopK { k: u32::MAX })).unwrap();
    assert_eq!(
        SamplingPlan::new(&sampling_desc(Sampler::MinP { p: 0.1 }))
            .unwrap()
            .offset_step(),
        4
    );
    assert_eq!(
        SamplingPlan::new(&sampling_desc(Sampler::TopP { p: 0.1 }))
            .unwrap()
            .offset_step(),
        256
    );
}

#[test]
fn sampling_runs_check_every_tensor() {
    let mut f = Fake::new();
    const RUN: &str = "SamplingPlan::run";
    let top_k = SamplingPlan::new(&sampling_desc(Sampler::TopK { k: 5 })).unwrap();
    top_k.check(&sampling_args(&mut f)).unwrap();
    let mut a = sampling_args(&mut f);
    a.probs = f.ro::<F16>(ROWS * VOCAB).tensor([ROWS, VOCAB]);
    host_rejects(top_k.check(&a), RUN, "probs: dtype is f16, expected f32");
    let mut a = sampling_args(&mut f);
    a.probs = f.ro::<f32>(ROWS * VOCAB).tensor([VOCAB, ROWS]);
    host_rejects(
        top_k.check(&a),
        RUN,
        "probs: dimension 0 (batch) is 1000, expected 4",
    );
    let mut a = sampling_args(&mut f);
    a.probs = f
        .ro::<f32>(ROWS * 1024)
        .tensor_strided([ROWS, VOCAB], [1024, 1]);
    host_rejects(
        top_k.check(&a),
        RUN,
        "probs: stride of dimension 0 (batch) is 1024, expected 1000",
    );
    // vocab % 4 == 0: rows load as 16-byte vectors.
    let mut a = sampling_args(&mut f);
    a.probs = shifted(f.ro::<f32>(ROWS * VOCAB + 1), 4).tensor([ROWS, VOCAB]);
    let err = top_k.check(&a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisalignedOperand, "{err}");
    assert!(err.message().contains("is not 16-byte aligned"), "{err}");
    let mut a = sampling_args(&mut f);
    a.output = f.rw(ROWS + 1);
    host_rejects(
        top_k.check(&a),
        RUN,
        "output: length is 5, expected 4 (batch)",
    );
    let mut a = sampling_args(&mut f);
    a.valid = Some(f.rw(ROWS - 1));
    host_rejects(
        top_k.check(&a),
        RUN,
        "valid: length is 3, expected 4 (batch)",
    );
    let mut a = sampling_args(&mut f);
    a.per_row.top_k = Some(f.ro(ROWS - 1));
    host_rejects(
        top_k.check(&a),
        RUN,
        "per_row.top_k: length is 3, expected 4 (batch)",
    );
    let mut a = sampling_args(&mut f);
    a.per_row.p = Some(f.ro(ROWS));
    host_rejects(
        top_k.check(&a),
        RUN,
        "per_row.p: the top_k sampler takes no per-row p",
    );
    let mut a = sampling_args(&mut f);
    a.rng.seed = Seed::Device(f.ro(0));
    host_rejects(
        top_k.check(&a),
        RUN,
        "rng.seed: length is 0, expected at least 1",
    );
    let mut a = sampling_args(&mut f);
    a.rng.offset = Offset::Device(shifted_mut(f.rw(2), 4));
    let err = top_k.check(&a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisalignedOperand, "{err}");
    assert!(
        err.message().starts_with("rng.offset: device pointer"),
        "{err}"
    );

    let from_probs = SamplingPlan::new(&sampling_desc(Sampler::FromProbs)).unwrap();
    let mut a = sampling_args(&mut f);
    a.per_row.top_k = Some(f.ro(ROWS));
    host_rejects(
        from_probs.check(&a),
        RUN,
        "per_row.top_k: the from_probs sampler takes no per-row k",
    );
    let joint = SamplingPlan::new(&sampling_desc(Sampler::TopKTopP { k: 3, p: 0.5 })).unwrap();
    let mut a = sampling_args(&mut f);
    a.per_row = PerRow {
        top_k: Some(f.ro(ROWS)),
        p: Some(f.ro(ROWS)),
    };
    joint.check(&a).unwrap();
}

#[test]
fn sampling_pointers_reach_their_c_slots() {
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let joint = SamplingPlan::new(&sampling_desc(Sampler::TopKTopP { k: 3, p: 0.5 })).unwrap();
    let c = "baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex";
    let mut a = sampling_args(&mut f);
    a.probs = shifted(f.ro::<f32>(ROWS * VOCAB + 1), 4).tensor([ROWS, VOCAB]);
    let addr = a.probs.device_ptr();
    c_names_slot(joint.launch(s, &mut a), c, "probs", addr);
    let mut a = sampling_args(&mut f);
    a.output = shifted_mut(f.rw(ROWS + 1), 2);
    let addr = a.output.device_ptr();
    c_names_slot(joint.launch(s, &mut a), c, "output", addr);
    let mut a = sampling_args(&mut f);
    a.per_row.top_k = Some(shifted(f.ro(ROWS + 1), 2));
    let addr = a.per_row.top_k.unwrap().device_ptr();
    c_names_slot(joint.launch(s, &mut a), c, "top_k_arr", addr);
    let mut a = sampling_args(&mut f);
    a.per_row.p = Some(shifted(f.ro(ROWS + 1), 2));
    let addr = a.per_row.p.unwrap().device_ptr();
    c_names_slot(joint.launch(s, &mut a), c, "top_p_arr", addr);
    let mut a = sampling_args(&mut f);
    a.rng.seed = Seed::Device(shifted(f.ro(2), 4));
    let addr = match a.rng.seed {
        Seed::Device(d) => d.device_ptr(),
        Seed::Value(_) => unreachable!(),
    };
    c_names_slot(joint.launch(s, &mut a), c, "seed_ptr", addr);
    let mut a = sampling_args(&mut f);
    let offset = shifted_mut(f.rw(2), 4);
    let addr = offset.device_ptr();
    a.rng.offset = Offset::Device(offset);
    c_names_slot(joint.launch(s, &mut a), c, "offset_ptr", addr);
    // Every sampler goes through its own _ex entry point.
    for (sampler, c) in [
        (
            Sampler::FromProbs,
            "baracuda_kernels_flashinfer_sampling_from_probs_f32_ex",
        ),
        (
            Sampler::TopK { k: 2 },
            "baracuda_kernels_flashinfer_top_k_sampling_f32_ex",
        ),
        (
            Sampler::TopP { p: 0.5 },
            "baracuda_kernels_flashinfer_top_p_sampling_f32_ex",
        ),
        (
            Sampler::MinP { p: 0.5 },
            "baracuda_kernels_flashinfer_min_p_sampling_f32_ex",
        ),
    ] {
        let plan = SamplingPlan::new(&sampling_desc(sampler)).unwrap();
        let mut a = sampling_args(&mut f);
        a.output = shifted_mut(f.rw(ROWS + 1), 2);
        let addr = a.output.device_ptr();
        c_names_slot(plan.launch(s, &mut a), c, "output", addr);
    }
    let min_p = SamplingPlan::new(&sampling_desc(Sampler::MinP { p: 0.5 })).unwrap();
    let mut a = sampling_args(&mut f);
    a.per_row.p = Some(shifted(f.ro(ROWS + 1), 2));
    let addr = a.per_row.p.unwrap().device_ptr();
    c_names_slot(
        min_p.launch(s, &mut a),
        "baracuda_kernels_flashinfer_min_p_sampling_f32_ex",
        "min_p_arr",
        addr,
    );
}

#[test]
fn logits_and_speculative_plans_check_their_tensors() {
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let desc = LogitsSamplingDesc {
        batch_size: ROWS,
        vocab_size: VOCAB,
        dtype: DType::Bf16,
    };
    let logits = LogitsSamplingPlan::new(&desc).unwrap();
    let args = |f: &mut Fake| LogitsSamplingArgs {
        logits: f.ro::<Bf16>(ROWS * VOCAB).tensor([ROWS, VOCAB]),
        output: f.rw(ROWS),
        rng: Rng::new(3, 8),
    };
    logits.check(&args(&mut f)).unwrap();
    let mut a = args(&mut f);
    a.logits = f.ro::<f32>(ROWS * VOCAB).tensor([ROWS, VOCAB]);
    host_rejects(
        logits.check(&a),
        "LogitsSamplingPlan::run",
        "logits: dtype is f32, expected bf16",
    );
    let mut a = args(&mut f);
    a.logits = shifted(f.ro::<Bf16>(ROWS * VOCAB + 8), 2).tensor([ROWS, VOCAB]);
    let addr = a.logits.device_ptr();
    c_names_slot(
        logits.launch(s, &mut a),
        "baracuda_kernels_flashinfer_sampling_from_logits_bf16_ex",
        "logits",
        addr,
    );
    expect_err(
        LogitsSamplingPlan::new(&LogitsSamplingDesc {
            dtype: DType::I32,
            ..desc
        }),
        ErrorKind::Unsupported,
        "LogitsSamplingPlan::new",
        "dtype i32 is not supported",
    );

    const S: usize = 3;
    let spec = SpeculativePlan::new(&SpeculativeDesc {
        batch_size: ROWS,
        num_speculative_tokens: S,
        vocab_size: VOCAB,
        ..SpeculativeDesc::default()
    })
    .unwrap();
    assert_eq!(spec.offset_step(), 8);
    let args = |f: &mut Fake| SpeculativeArgs {
        draft_probs: f.ro::<f32>(ROWS * S * VOCAB).tensor([ROWS, S, VOCAB]),
        draft_token_ids: f.ro(ROWS * S),
        target_probs: f
            .ro::<f32>(ROWS * (S + 1) * VOCAB)
            .tensor([ROWS, S + 1, VOCAB]),
        output_token_ids: f.rw(ROWS * (S + 1)),
        accepted_token_num: f.rw(ROWS),
        emitted_draft_token_num: f.rw(ROWS),
        rng: Rng::new(3, 0),
    };
    const SR: &str = "SpeculativePlan::run";
    spec.check(&args(&mut f)).unwrap();
    let mut a = args(&mut f);
    a.target_probs = f.ro::<f32>(ROWS * S * VOCAB).tensor([ROWS, S, VOCAB]);
    host_rejects(
        spec.check(&a),
        SR,
        "target_probs: dimension 1 (tokens) is 3, expected 4",
    );
    let mut a = args(&mut f);
    a.draft_token_ids = f.ro(ROWS * (S + 1));
    host_rejects(
        spec.check(&a),
        SR,
        "draft_token_ids: length is 16, expected 12 (batch * S)",
    );
    let mut a = args(&mut f);
    a.output_token_ids = f.rw(ROWS * S);
    host_rejects(
        spec.check(&a),
        SR,
        "output_token_ids: length is 12, expected 16 (batch * (S + 1))",
    );
    let c = "baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex";
    let mut a = args(&mut f);
    a.draft_token_ids = shifted(f.ro(ROWS * S + 1), 2);
    let addr = a.draft_token_ids.device_ptr();
    c_names_slot(spec.launch(s, &mut a), c, "draft_token_ids", addr);
    let mut a = args(&mut f);
    a.accepted_token_num = shifted_mut(f.rw(ROWS + 1), 2);
    let addr = a.accepted_token_num.device_ptr();
    c_names_slot(spec.launch(s, &mut a), c, "output_accepted_token_num", addr);
    let mut a = args(&mut f);
    a.emitted_draft_token_num = shifted_mut(f.rw(ROWS + 1), 2);
    let addr = a.emitted_draft_token_num.device_ptr();
    c_names_slot(
        spec.launch(s, &mut a),
        c,
        "output_emitted_draft_token_num",
        addr,
    );
    let mut a = args(&mut f);
    a.target_probs =
        shifted(f.ro::<f32>(ROWS * (S + 1) * VOCAB + 1), 4).tensor([ROWS, S + 1, VOCAB]);
    let addr = a.target_probs.device_ptr();
    c_names_slot(spec.launch(s, &mut a), c, "target_probs", addr);
}

#[test]
fn filter_plans_check_their_tensors() {
    let s = Stream::per_thread();
    let mut f = Fake::new();
    let renorm_f16 = FilterDesc {
        batch_size: ROWS,
        vocab_size: VOCAB,
        filter: Filter::TopPRenormProbs { p: 0.5 },
        dtype: DType::F16,
    };
    expect_err(
        FilterPlan::new(&renorm_f16),
        ErrorKind::Unsupported,
        "FilterPlan::new",
        "renormalisations take f32",
    );
    let mask = FilterPlan::without_device(&FilterDesc {
        filter: Filter::TopKMaskLogits { k: 10 },
        ..renorm_f16.clone()
    });
    let args = |f: &mut Fake| FilterArgs {
        input: f.ro::<F16>(ROWS * VOCAB).tensor([ROWS, VOCAB]),
        output: f.rw::<F16>(ROWS * VOCAB).tensor([ROWS, VOCAB]),
        per_row: PerRow::default(),
    };
    mask.check(&args(&mut f)).unwrap();
    let mut a = args(&mut f);
    a.output = f.rw::<f32>(ROWS * VOCAB).tensor([ROWS, VOCAB]);
    host_rejects(
        mask.check(&a),
        "FilterPlan::run",
        "output: dtype is f32, expected f16",
    );
    let mut a = args(&mut f);
    a.per_row.p = Some(f.ro(ROWS));
    host_rejects(
        mask.check(&a),
        "FilterPlan::run",
        "per_row.p: top_k_mask_logits takes no per-row p",
    );
    host_rejects(
        mask.run_in_place(
            s,
            f.rw::<F16>(ROWS * VOCAB).tensor([ROWS, VOCAB + 1]),
            PerRow::default(),
        ),
        "FilterPlan::run_in_place",
        "data: dimension 1 (vocab) is 1001, expected 1000",
    );
    let c = "baracuda_kernels_flashinfer_top_k_mask_logits_f16_run";
    let mut a = args(&mut f);
    a.input = shifted(f.ro::<F16>(ROWS * VOCAB + 1), 1).tensor([ROWS, VOCAB]);
    let addr = a.input.device_ptr();
    c_names_slot(
        mask.launch(
            s,
            a.input.raw.as_ptr(),
            a.output.raw.as_mut_ptr(),
            &a.per_row,
        ),
        c,
        "logits",
        addr,
    );
    let renorm = FilterPlan::without_device(&FilterDesc {
        dtype: DType::F32,
        ..renorm_f16
    });
    let c = "baracuda_kernels_flashinfer_top_p_renorm_probs_f32_run";
    let input = f.ro::<f32>(ROWS * VOCAB).tensor([ROWS, VOCAB]);
    let output = shifted_mut(f.rw::<f32>(ROWS * VOCAB + 1), 2).tensor([ROWS, VOCAB]);
    let addr = output.device_ptr();
    c_names_slot(
        renorm.launch(
            s,
            input.raw.as_ptr(),
            output.raw.as_mut_ptr(),
            &PerRow::default(),
        ),
        c,
        "renormed_probs",
        addr,
    );
    let per_row = PerRow {
        top_k: None,
        p: Some(shifted(f.ro(ROWS + 1), 2)),
    };
    let addr = per_row.p.unwrap().device_ptr();
    c_names_slot(
        renorm.launch(
            s,
            input.raw.as_ptr(),
            f.rw::<f32>(ROWS * VOCAB).as_mut_ptr(),
            &per_row,
        ),
        c,
        "top_p_arr",
        addr,
    );
}

// ---- errors, streams, views -----------------------------------------------------------------

#[test]
fn every_status_maps_to_its_kind() {
    let cases = [
        (1, ErrorKind::MisalignedOperand),
        (2, ErrorKind::InvalidProblem),
        (3, ErrorKind::Unsupported),
        (4, ErrorKind::WorkspaceTooSmall),
        (5, ErrorKind::Cuda),
        (6, ErrorKind::Internal),
        (7, ErrorKind::Other(7)),
        (-1, ErrorKind::Other(-1)),
        (i32::MAX, ErrorKind::Other(i32::MAX)),
    ];
    assert_eq!(ErrorKind::from_code(0), None);
    assert!(crate::error::status(0, "f").is_ok());
    for (code, kind) in cases {
        assert_eq!(ErrorKind::from_code(code), Some(kind));
        assert_eq!(kind.code(), code);
        // The names are the library's own status strings.
        let c_name = unsafe {
            std::ffi::CStr::from_ptr(sys::baracuda_kernels_flashinfer_status_string(code))
        };
        assert_eq!(kind.name(), c_name.to_str().unwrap(), "status {code}");
        assert_eq!(kind.to_string(), format!("{} ({code})", kind.name()));
        let err = crate::error::status(code, "f").unwrap_err();
        assert_eq!((err.kind(), err.code(), err.function()), (kind, code, "f"));
        assert_eq!(err.is_unsupported(), code == 3);
    }
}

#[test]
fn errors_carry_the_library_message_and_display_once() {
    let err = DecodePlan::new(&DecodeDesc {
        head_dim: 100,
        ..decode_desc(Element::F16)
    })
    .unwrap_err();
    let f = "baracuda_kernels_flashinfer_paged_decode_f16_can_implement";
    assert_eq!(err.function(), f);
    assert!(
        err.message().starts_with(f),
        "the library's message, unchanged: {err}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{f}: unsupported (3): head_dim 100")),
        "{shown}"
    );
    assert_eq!(shown.matches(f).count(), 1, "{shown}");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err.clone());
    assert_eq!(boxed.to_string(), shown);
    // The message is copied at once: a later success clears the library's, not ours.
    DecodePlan::new(&decode_desc(Element::F16)).unwrap();
    assert!(err.message().contains("head_dim 100"));
}

#[test]
fn streams_make_the_default_stream_explicit() {
    assert_eq!(Stream::legacy().as_raw() as usize, 1);
    assert_eq!(Stream::per_thread().as_raw() as usize, 2);
    let null = core::ptr::null_mut();
    let err = unsafe { Stream::from_raw(null) }.unwrap_err();
    assert_eq!(
        (err.kind(), err.function()),
        (ErrorKind::InvalidProblem, "Stream::from_raw")
    );
    assert!(unsafe { Stream::from_raw_or_legacy(null) }.is_legacy());
    let created = 0x5555_0000usize as *mut core::ffi::c_void;
    let s = unsafe { Stream::from_raw(created) }.unwrap();
    assert_eq!(s.as_raw() as usize, 0x5555_0000);
    assert_eq!(unsafe { Stream::from_raw_or_legacy(created) }, s);
    assert_eq!(format!("{:?}", Stream::per_thread()), "Stream(per-thread)");
}

#[test]
fn views_know_their_allocation() {
    let mut f = Fake::new();
    let s = f.ro::<f32>(100);
    assert_eq!(s.get(10..20).unwrap().device_ptr(), s.device_ptr() + 40);
    assert!(s.get(90..101).is_none());
    assert!(s.split_at(101).is_none());
    let (a, b) = f.rw::<Bf16>(10).split_at(4).unwrap();
    assert_eq!(
        (a.len(), b.len(), b.device_ptr() - a.device_ptr()),
        (4, 6, 8)
    );
    let bytes = f.ro::<u8>(1001);
    let t = TensorRef::from_bytes(bytes, DType::F32, [10, 25]);
    assert_eq!(
        (t.capacity(), t.dtype(), t.strides()),
        (250, DType::F32, [25, 1])
    );
    assert!(t.is_contiguous());
    assert!(!f
        .ro::<f32>(100)
        .tensor_strided([10, 10], [1, 10])
        .is_contiguous());
}

#[test]
fn plans_views_and_streams_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<DecodePlan>();
    check::<AppendPlan>();
    check::<AppendTokensPlan>();
    check::<MergeInPlacePlan>();
    check::<MergeStatesPlan>();
    check::<MergeVarlenPlan>();
    check::<SharedPrefixPlan>();
    check::<CascadePlan>();
    check::<DensePrefixCascadePlan>();
    check::<SamplingPlan>();
    check::<LogitsSamplingPlan>();
    check::<SpeculativePlan>();
    check::<FilterPlan>();
    check::<DeviceSlice<'static, F16>>();
    check::<DeviceSliceMut<'static, F16>>();
    check::<TensorRef<'static, 3>>();
    check::<TensorMut<'static, 3>>();
    check::<Stream<'static>>();
    check::<Workspace<'static>>();
    check::<Error>();
}

#[test]
fn library_version_matches_the_bindings() {
    ensure_compatible().unwrap();
    assert!(version_string().starts_with("0.1."), "{}", version_string());
}

// ---- prefill --------------------------------------------------------------------------------

const QROWS: usize = 40;
const KVROWS: usize = 100;
const PREFILL_WS: usize = 4096;
const PREFILL_RUN: &str = "PrefillPlan::run";

fn prefill_desc(keys: PrefillKeys) -> PrefillDesc {
    PrefillDesc {
        keys,
        batch_size: B,
        max_q_rows: QROWS,
        num_qo_heads: HQ,
        num_kv_heads: HKV,
        head_dim: D,
        element: Element::Bf16,
        ..PrefillDesc::default()
    }
}

const RAGGED: PrefillKeys = PrefillKeys::Ragged {
    max_kv_rows: KVROWS,
};
const PAGED: PrefillKeys = PrefillKeys::Paged { page_size: P };

fn prefill_plan(desc: &PrefillDesc) -> PrefillPlan {
    PrefillPlan::validated_with_workspace_bytes(desc, PREFILL_WS).unwrap()
}

/// Tensors the bf16 plans accept: q / o [QROWS, HQ, D]; ragged K/V [KVROWS, HKV, D] or the
/// paged caches [PAGES, HKV, P, D].
fn prefill_args(f: &mut Fake, keys: PrefillKeys) -> PrefillArgs<'static> {
    let kv = match keys {
        PrefillKeys::Ragged { .. } => PrefillKv::Ragged {
            k: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS, HKV, D]),
            v: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS, HKV, D]),
            kv_indptr: f.ro(B + 1),
        },
        PrefillKeys::Paged { .. } => PrefillKv::Paged {
            k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
            v_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
            pages: pages(f, B),
        },
    };
    PrefillArgs {
        q: f.ro::<Bf16>(QROWS * HQ * D).tensor([QROWS, HQ, D]),
        q_indptr: f.ro(B + 1),
        kv,
        sinks: None,
        o: f.rw::<Bf16>(QROWS * HQ * D).tensor([QROWS, HQ, D]),
        lse: Some(f.rw::<f32>(QROWS * HQ).tensor([QROWS, HQ])),
    }
}

fn prefill_ws(f: &mut Fake) -> Workspace<'static> {
    Workspace::new(f.rw(PREFILL_WS))
}

#[test]
fn prefill_plan_validates_through_c() {
    for keys in [RAGGED, PAGED] {
        let plan = prefill_plan(&prefill_desc(keys));
        assert!((plan.sm_scale() - (D as f32).sqrt().recip()).abs() < 1e-7);
        // The C can_implement answers: an unsupported head dim (3), a bad option (2).
        let c_can = match keys {
            PrefillKeys::Ragged { .. } => {
                "baracuda_kernels_flashinfer_prefill_ragged_can_implement"
            }
            PrefillKeys::Paged { .. } => "baracuda_kernels_flashinfer_prefill_paged_can_implement",
        };
        let r = PrefillPlan::validated_with_workspace_bytes(
            &PrefillDesc {
                head_dim: 96,
                ..prefill_desc(keys)
            },
            0,
        );
        expect_err(r, ErrorKind::Unsupported, c_can, "head_dim");
        let bad_options = [
            (
                AttentionOptions {
                    logits_soft_cap: Some(f32::NAN),
                    ..AttentionOptions::default()
                },
                "logits_soft_cap",
            ),
            (
                AttentionOptions {
                    k_scale: 0.0,
                    ..AttentionOptions::default()
                },
                "k_scale",
            ),
            (
                AttentionOptions {
                    v_scale: f32::INFINITY,
                    ..AttentionOptions::default()
                },
                "v_scale",
            ),
        ];
        for (options, field) in bad_options {
            let r = PrefillPlan::validated_with_workspace_bytes(
                &PrefillDesc {
                    options,
                    ..prefill_desc(keys)
                },
                0,
            );
            expect_err(r, ErrorKind::InvalidProblem, c_can, field);
        }
        // Swapped head counts (Hq = 2, Hkv = 8): no GQA group, refused by the library.
        let r = PrefillPlan::validated_with_workspace_bytes(
            &PrefillDesc {
                num_qo_heads: HKV,
                num_kv_heads: HQ,
                ..prefill_desc(keys)
            },
            0,
        );
        assert!(r.is_err());
        assert_eq!(r.unwrap_err().function(), c_can);
    }
    // This crate's own refusals: an element prefill has no kernel for, a zero soft-cap.
    let r = PrefillPlan::validated_with_workspace_bytes(
        &PrefillDesc {
            element: Element::F32,
            ..prefill_desc(RAGGED)
        },
        0,
    );
    expect_err(
        r,
        ErrorKind::Unsupported,
        "PrefillPlan::new",
        "f16 or bf16 queries",
    );
    let r = PrefillPlan::validated_with_workspace_bytes(
        &PrefillDesc {
            options: AttentionOptions {
                logits_soft_cap: Some(0.0),
                ..AttentionOptions::default()
            },
            ..prefill_desc(RAGGED)
        },
        0,
    );
    expect_err(r, ErrorKind::InvalidProblem, "PrefillPlan::new", "use None");
}

#[test]
fn prefill_check_accepts_the_plans_tensors() {
    let mut f = Fake::new();
    for keys in [RAGGED, PAGED] {
        let plan = prefill_plan(&prefill_desc(keys));
        plan.check(&prefill_args(&mut f, keys), &prefill_ws(&mut f))
            .unwrap();
        let mut a = prefill_args(&mut f, keys);
        a.lse = None;
        plan.check(&a, &prefill_ws(&mut f)).unwrap();
    }
    // NHD pages [PAGES, P, HKV, D]; sinks [HQ].
    let nhd = prefill_plan(&PrefillDesc {
        options: AttentionOptions {
            kv_layout: KvLayout::Nhd,
            sinks: true,
            ..AttentionOptions::default()
        },
        ..prefill_desc(PAGED)
    });
    let mut a = prefill_args(&mut f, PAGED);
    a.kv = PrefillKv::Paged {
        k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, P, HKV, D]),
        v_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, P, HKV, D]),
        pages: pages(&mut f, B),
    };
    a.sinks = Some(f.ro(HQ));
    nhd.check(&a, &prefill_ws(&mut f)).unwrap();
}

/// An fp8-KV plan takes bf16 q / o and e4m3 K/V (the caches' bytes as `f8_e4m3` tensors), and
/// names a 16-bit cache as the wrong dtype.
#[test]
fn prefill_fp8_kv_plan_checks_the_kv_dtype() {
    let mut f = Fake::new();
    for keys in [RAGGED, PAGED] {
        let plan = prefill_plan(&PrefillDesc {
            element: Element::Bf16KvE4m3,
            ..prefill_desc(keys)
        });
        let mut a = prefill_args(&mut f, keys);
        let wrong = prefill_args(&mut f, keys);
        host_rejects(
            plan.check(&wrong, &prefill_ws(&mut f)),
            PREFILL_RUN,
            "f8_e4m3",
        );
        a.kv = match keys {
            PrefillKeys::Ragged { .. } => PrefillKv::Ragged {
                k: TensorRef::from_bytes(f.ro(KVROWS * HKV * D), DType::F8E4m3, [KVROWS, HKV, D]),
                v: TensorRef::from_bytes(f.ro(KVROWS * HKV * D), DType::F8E4m3, [KVROWS, HKV, D]),
                kv_indptr: f.ro(B + 1),
            },
            PrefillKeys::Paged { .. } => PrefillKv::Paged {
                k_cache: TensorRef::from_bytes(
                    f.ro(PAGES * HKV * P * D),
                    DType::F8E4m3,
                    [PAGES, HKV, P, D],
                ),
                v_cache: TensorRef::from_bytes(
                    f.ro(PAGES * HKV * P * D),
                    DType::F8E4m3,
                    [PAGES, HKV, P, D],
                ),
                pages: pages(&mut f, B),
            },
        };
        plan.check(&a, &prefill_ws(&mut f)).unwrap();
    }
}

#[test]
fn prefill_check_names_each_wrong_argument() {
    let mut f = Fake::new();
    let ragged = prefill_plan(&prefill_desc(RAGGED));
    let paged = prefill_plan(&prefill_desc(PAGED));
    let ws = |f: &mut Fake| prefill_ws(f);

    let mut a = prefill_args(&mut f, RAGGED);
    a.q = f.ro::<F16>(QROWS * HQ * D).tensor([QROWS, HQ, D]);
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "q: dtype is f16",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.q = f.ro::<Bf16>(QROWS * HQ * D).tensor([HQ, QROWS, D]);
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "q: dimension 0 (max_q_rows)",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.q = f.ro::<Bf16>(QROWS * HQ * D - 1).tensor([QROWS, HQ, D]);
    host_rejects(ragged.check(&a, &ws(&mut f)), PREFILL_RUN, "q: shape");
    let mut a = prefill_args(&mut f, RAGGED);
    a.q_indptr = f.ro(B);
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "q_indptr: length is 3, expected 4",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.kv = PrefillKv::Ragged {
        k: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS - 1, HKV, D]),
        v: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS, HKV, D]),
        kv_indptr: f.ro(B + 1),
    };
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "k: dimension 0 (max_kv_rows)",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.kv = PrefillKv::Ragged {
        k: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS, HKV, D]),
        v: f.ro::<Bf16>(KVROWS * HKV * D).tensor([KVROWS, HKV, D]),
        kv_indptr: f.ro(B + 2),
    };
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "kv_indptr: length",
    );
    // Keys of the other kind.
    let a = prefill_args(&mut f, PAGED);
    host_rejects(ragged.check(&a, &ws(&mut f)), PREFILL_RUN, "kv: paged keys");
    let a = prefill_args(&mut f, RAGGED);
    host_rejects(paged.check(&a, &ws(&mut f)), PREFILL_RUN, "kv: ragged keys");
    // Paged: an HND plan given NHD-shaped pages, the page counts of K and V, the page table.
    let mut a = prefill_args(&mut f, PAGED);
    a.kv = PrefillKv::Paged {
        k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, P, HKV, D]),
        v_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        pages: pages(&mut f, B),
    };
    host_rejects(
        paged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "k_cache: dimension 1 (num_kv_heads)",
    );
    let mut a = prefill_args(&mut f, PAGED);
    a.kv = PrefillKv::Paged {
        k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f
            .ro::<Bf16>((PAGES - 1) * HKV * P * D)
            .tensor([PAGES - 1, HKV, P, D]),
        pages: pages(&mut f, B),
    };
    host_rejects(
        paged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "v_cache: dimension 0 (num_pages)",
    );
    let mut a = prefill_args(&mut f, PAGED);
    a.kv = PrefillKv::Paged {
        k_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        v_cache: f.ro::<Bf16>(PAGES * HKV * P * D).tensor([PAGES, HKV, P, D]),
        pages: pages(&mut f, B + 1),
    };
    host_rejects(paged.check(&a, &ws(&mut f)), PREFILL_RUN, "pages.indptr");
    // Sinks: missing, unexpected, of the wrong length.
    let with_sinks = prefill_plan(&PrefillDesc {
        options: AttentionOptions {
            sinks: true,
            ..AttentionOptions::default()
        },
        ..prefill_desc(RAGGED)
    });
    let a = prefill_args(&mut f, RAGGED);
    host_rejects(
        with_sinks.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "sinks: missing",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.sinks = Some(f.ro(HQ - 1));
    host_rejects(
        with_sinks.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "sinks: length",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.sinks = Some(f.ro(HQ));
    host_rejects(ragged.check(&a, &ws(&mut f)), PREFILL_RUN, "sinks: given");
    // o, lse, the workspace.
    let mut a = prefill_args(&mut f, RAGGED);
    a.o = shifted_mut(f.rw::<Bf16>(QROWS * HQ * D + 8), 2).tensor([QROWS, HQ, D]);
    expect_err(
        ragged.check(&a, &ws(&mut f)),
        ErrorKind::MisalignedOperand,
        PREFILL_RUN,
        "o: device pointer",
    );
    let mut a = prefill_args(&mut f, RAGGED);
    a.lse = Some(f.rw::<f32>(QROWS * HQ).tensor([HQ, QROWS]));
    host_rejects(
        ragged.check(&a, &ws(&mut f)),
        PREFILL_RUN,
        "lse: dimension 0 (max_q_rows)",
    );
    let a = prefill_args(&mut f, RAGGED);
    expect_err(
        ragged.check(&a, &Workspace::none()),
        ErrorKind::WorkspaceTooSmall,
        PREFILL_RUN,
        "workspace: missing",
    );
    let a = prefill_args(&mut f, RAGGED);
    expect_err(
        ragged.check(&a, &Workspace::new(f.rw(PREFILL_WS - 16))),
        ErrorKind::WorkspaceTooSmall,
        PREFILL_RUN,
        "too small",
    );
}

#[test]
fn prefill_pointers_reach_their_c_slots() {
    let mut f = Fake::new();
    let s = Stream::per_thread();
    for (keys, c_function, k_name, v_name) in [
        (
            RAGGED,
            "baracuda_kernels_flashinfer_prefill_ragged_run",
            "k",
            "v",
        ),
        (
            PAGED,
            "baracuda_kernels_flashinfer_prefill_paged_run",
            "k_data",
            "v_data",
        ),
    ] {
        let plan = prefill_plan(&prefill_desc(keys));
        // SAFETY: every call fails the C library's validation before any CUDA call.
        let launch = |a: PrefillArgs<'static>, ws: &mut Workspace<'static>| unsafe {
            plan.launch(s, &a, ws)
        };
        let mut a = prefill_args(&mut f, keys);
        a.q = shifted(f.ro::<Bf16>(QROWS * HQ * D + 8), 2).tensor([QROWS, HQ, D]);
        let addr = a.q.device_ptr();
        c_names_slot(launch(a, &mut prefill_ws(&mut f)), c_function, "q", addr);
        let mut a = prefill_args(&mut f, keys);
        a.q_indptr = shifted(f.ro(B + 2), 2);
        let addr = a.q_indptr.device_ptr();
        c_names_slot(
            launch(a, &mut prefill_ws(&mut f)),
            c_function,
            "q_indptr",
            addr,
        );
        let mut a = prefill_args(&mut f, keys);
        a.o = shifted_mut(f.rw::<Bf16>(QROWS * HQ * D + 8), 2).tensor([QROWS, HQ, D]);
        let addr = a.o.device_ptr();
        c_names_slot(launch(a, &mut prefill_ws(&mut f)), c_function, "o", addr);
        let mut a = prefill_args(&mut f, keys);
        let k = match &mut a.kv {
            PrefillKv::Ragged { k, .. } => {
                *k = shifted(f.ro::<Bf16>(KVROWS * HKV * D + 8), 2).tensor([KVROWS, HKV, D]);
                k.device_ptr()
            }
            PrefillKv::Paged { k_cache, .. } => {
                *k_cache =
                    shifted(f.ro::<Bf16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
                k_cache.device_ptr()
            }
        };
        c_names_slot(launch(a, &mut prefill_ws(&mut f)), c_function, k_name, k);
        let mut a = prefill_args(&mut f, keys);
        let v = match &mut a.kv {
            PrefillKv::Ragged { v, .. } => {
                *v = shifted(f.ro::<Bf16>(KVROWS * HKV * D + 8), 2).tensor([KVROWS, HKV, D]);
                v.device_ptr()
            }
            PrefillKv::Paged { v_cache, .. } => {
                *v_cache =
                    shifted(f.ro::<Bf16>(PAGES * HKV * P * D + 8), 2).tensor([PAGES, HKV, P, D]);
                v_cache.device_ptr()
            }
        };
        c_names_slot(launch(a, &mut prefill_ws(&mut f)), c_function, v_name, v);
    }
}

#[test]
fn decode_options_are_validated_by_the_ex_can_implement() {
    let c_can = "baracuda_kernels_flashinfer_paged_decode_ex_can_implement";
    for (options, field) in [
        (
            AttentionOptions {
                logits_soft_cap: Some(-1.0),
                ..AttentionOptions::default()
            },
            "logits_soft_cap",
        ),
        (
            AttentionOptions {
                v_scale: f32::NAN,
                ..AttentionOptions::default()
            },
            "v_scale",
        ),
    ] {
        let r = DecodePlan::new(&DecodeDesc {
            options,
            ..decode_desc(Element::Bf16)
        });
        expect_err(r, ErrorKind::InvalidProblem, c_can, field);
    }
    // Plain options keep the per-element symbols: the plan builds without a GPU.
    let plain = DecodePlan::new(&DecodeDesc {
        options: AttentionOptions::default(),
        ..decode_desc(Element::Bf16)
    })
    .unwrap();
    assert_eq!(plain.workspace_size(), 0);
}
