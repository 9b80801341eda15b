//! Decode over a prefix shared by the batch: shared prefix + decode over the suffixes + merge,
//! the fused cascade and the fused cascade over a dense prefix, each against the float64 decode
//! of prefix plus suffix.
use baracuda_flashinfer::{
    CascadeArgs, CascadePlan, DecodeArgs, DecodeDesc, DecodeKernel, DecodePlan,
    DensePrefixCascadeArgs, DensePrefixCascadePlan, Element, ErrorKind, MergeDesc,
    MergeInPlaceArgs, MergeInPlacePlan, PageTable, PrefixDesc, SharedPrefixArgs, SharedPrefixPlan,
    TensorRef, Workspace,
};

use crate::common::{lse_tolerance, max_error, o_tolerance, random_values, Paged, Rng};
use crate::cuda::{compute_capability, require_gpu, CudaStream, DeviceBuffer};
use crate::{f32_values, out_view, poisoned_output, values, DevicePaged};

const PREFIX: usize = 300;

/// The cache of a shared prefix (request 0 of `p`) and `batch` suffixes (requests 1..), the
/// queries, and the device copies.
struct Problem {
    p: Paged,
    batch: usize,
    q: Vec<f64>,
    dev: DevicePaged,
    dq: DeviceBuffer<u8>,
    /// The suffixes' page offsets relative to the suffixes' first page, and where that is.
    suffix_indptr: DeviceBuffer<i32>,
    suffix_lpl: DeviceBuffer<i32>,
    prefix_indptr: DeviceBuffer<i32>,
    prefix_lpl: DeviceBuffer<i32>,
    /// Absolute offsets into the one page-id array (the fused cascades).
    abs_suffix_indptr: DeviceBuffer<i32>,
}

impl Problem {
    fn new(element: Element, rng: &mut Rng) -> Problem {
        let batch = 5;
        let mut lens = vec![PREFIX];
        lens.extend((0..batch).map(|b| if b == 2 { 0 } else { rng.int(1, 40) as usize }));
        let p = Paged::new(element, [8, 2, 128, 16], lens, 2, rng);
        let (q_bytes, q) = random_values(element.query_dtype(), batch * p.hq * p.d, 3.0, rng);
        let dev = DevicePaged::new(&p);
        let dq = DeviceBuffer::from_host(&q_bytes);
        let first = p.indptr[1];
        let rel: Vec<i32> = p.indptr[1..].iter().map(|x| x - first).collect();
        Problem {
            suffix_indptr: DeviceBuffer::from_host(&rel),
            suffix_lpl: DeviceBuffer::from_host(&p.last_page_len[1..]),
            prefix_indptr: DeviceBuffer::from_host(&p.indptr[..2]),
            prefix_lpl: DeviceBuffer::from_host(&p.last_page_len[..1]),
            abs_suffix_indptr: DeviceBuffer::from_host(&p.indptr[1..]),
            p,
            batch,
            q,
            dev,
            dq,
        }
    }

    fn q(&self) -> TensorRef<'_, 3> {
        TensorRef::from_bytes(
            self.dq.slice(),
            self.p.element.query_dtype(),
            [self.batch, self.p.hq, self.p.d],
        )
    }

    fn prefix(&self) -> PageTable<'_> {
        // SAFETY: Paged's page ids are within the cache; request 0 is the prefix.
        unsafe {
            PageTable::new(
                self.dev.indices.slice(),
                self.prefix_indptr.slice(),
                self.prefix_lpl.slice(),
            )
        }
    }

    /// The suffixes over the page ids from the first suffix page on (offsets from 0).
    fn suffixes(&self) -> PageTable<'_> {
        let first = self.p.indptr[1] as usize;
        let ids = self.dev.indices.slice().get(first..).unwrap();
        // SAFETY: as above.
        unsafe { PageTable::new(ids, self.suffix_indptr.slice(), self.suffix_lpl.slice()) }
    }

    /// The suffixes over the whole page-id array (absolute offsets), as the fused cascade reads.
    fn suffixes_in_one_array(&self) -> PageTable<'_> {
        // SAFETY: as above.
        unsafe {
            PageTable::new(
                self.dev.indices.slice(),
                self.abs_suffix_indptr.slice(),
                self.suffix_lpl.slice(),
            )
        }
    }

    fn desc(&self) -> PrefixDesc {
        PrefixDesc {
            batch_size: self.batch,
            num_qo_heads: self.p.hq,
            num_kv_heads: self.p.hkv,
            head_dim: self.p.d,
            page_size: self.p.p,
            element: self.p.element,
            ..PrefixDesc::default()
        }
    }

    /// float64 decode of each query over `prefix` and/or its suffix.
    fn reference(&self, sm_scale: f32, prefix: bool, suffix: bool) -> (Vec<f64>, Vec<f64>) {
        self.p
            .attend(f64::from(sm_scale), &self.q, self.batch, |b| {
                let mut t = if prefix { self.p.tokens(0) } else { vec![] };
                if suffix {
                    t.extend(self.p.tokens(b + 1));
                }
                t
            })
    }

    fn check(
        &self,
        label: &str,
        o: &DeviceBuffer<u8>,
        lse: &DeviceBuffer<f32>,
        want: &(Vec<f64>, Vec<f64>),
    ) {
        let qt = self.p.element.query_dtype();
        let o_err = max_error(&values(o, qt), &want.0, false);
        let lse_err = max_error(&f32_values(lse), &want.1, true);
        println!("{label}: max |o - ref| {o_err:.2e}, max lse rel err {lse_err:.2e}");
        assert!(o_err <= o_tolerance(qt), "{label}: max |o - ref| = {o_err}");
        assert!(lse_err <= lse_tolerance(qt), "{label}: lse error {lse_err}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn shared_prefix_then_suffix_decode_and_merge_match_f64() {
    require_gpu();
    let mut rng = Rng::new(0xCA5CADE);
    for element in [Element::F16, Element::Bf16] {
        let x = Problem::new(element, &mut rng);
        let (p, b, qt) = (&x.p, x.batch, element.query_dtype());
        let stream = CudaStream::new();
        let shared = SharedPrefixPlan::new(&x.desc()).unwrap();
        let mut ws = DeviceBuffer::<u8>::filled(shared.workspace_size(), 0xFF);
        let mut o = poisoned_output(qt, b * p.hq * p.d);
        let mut lse = DeviceBuffer::<f32>::filled(b * p.hq, 0xFF);
        shared
            .run(
                stream.stream(),
                SharedPrefixArgs {
                    q: x.q(),
                    k_cache: x.dev.k_cache(p),
                    v_cache: x.dev.v_cache(p),
                    prefix: x.prefix(),
                    o: out_view(&mut o, qt, [b, p.hq, p.d]),
                    lse: Some(lse.slice_mut().tensor([b, p.hq])),
                },
                &mut Workspace::new(ws.slice_mut()),
            )
            .unwrap();
        x.check(
            &format!("{element} shared prefix"),
            &o,
            &lse,
            &x.reference(shared.sm_scale(), true, false),
        );

        // The suffixes with the decode plan (CUDA cores suit short suffixes), then the merge.
        let decode = DecodePlan::new(&DecodeDesc {
            batch_size: b,
            num_qo_heads: p.hq,
            num_kv_heads: p.hkv,
            head_dim: p.d,
            page_size: p.p,
            element,
            kernel: DecodeKernel::CudaCores,
            ..DecodeDesc::default()
        })
        .unwrap();
        let mut ws2 = DeviceBuffer::<u8>::new(decode.workspace_size());
        let mut o2 = poisoned_output(qt, b * p.hq * p.d);
        let mut lse2 = DeviceBuffer::<f32>::filled(b * p.hq, 0xFF);
        decode
            .run(
                stream.stream(),
                DecodeArgs {
                    q: x.q(),
                    k_cache: x.dev.k_cache(p),
                    v_cache: x.dev.v_cache(p),
                    pages: x.suffixes(),
                    o: out_view(&mut o2, qt, [b, p.hq, p.d]),
                    lse: Some(lse2.slice_mut().tensor([b, p.hq])),
                    sinks: None,
                },
                &mut Workspace::new(ws2.slice_mut()),
            )
            .unwrap();
        x.check(
            &format!("{element} suffixes"),
            &o2,
            &lse2,
            &x.reference(decode.sm_scale(), false, true),
        );
        let merge = MergeInPlacePlan::new(&MergeDesc {
            seq_len: b,
            num_heads: p.hq,
            head_dim: p.d,
            dtype: qt,
        })
        .unwrap();
        merge
            .run(
                stream.stream(),
                MergeInPlaceArgs {
                    v: out_view(&mut o, qt, [b, p.hq, p.d]),
                    s: lse.slice_mut().tensor([b, p.hq]),
                    v_other: TensorRef::from_bytes(o2.slice(), qt, [b, p.hq, p.d]),
                    s_other: lse2.slice().tensor([b, p.hq]),
                },
            )
            .unwrap();
        x.check(
            &format!("{element} prefix + suffix merged"),
            &o,
            &lse,
            &x.reference(shared.sm_scale(), true, true),
        );
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn fused_cascades_match_f64_on_sm90_and_are_unsupported_elsewhere() {
    require_gpu();
    let sm90 = compute_capability() == (9, 0);
    let mut rng = Rng::new(0xF05ED);
    for element in [Element::F16, Element::Bf16] {
        let x = Problem::new(element, &mut rng);
        let (p, b, qt) = (&x.p, x.batch, element.query_dtype());
        let stream = CudaStream::new();
        let (paged, dense) = (
            CascadePlan::new(&x.desc()),
            DensePrefixCascadePlan::new(&x.desc()),
        );
        if !sm90 {
            // The C library answers Unsupported off compute capability 9.0 (the three calls of
            // the other test do the work there).
            for err in [paged.unwrap_err(), dense.unwrap_err()] {
                assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
            }
            println!(
                "{element}: fused cascades unsupported on compute capability {:?}, as documented",
                compute_capability()
            );
            continue;
        }
        let (paged, dense) = (paged.unwrap(), dense.unwrap());
        let want = x.reference(paged.sm_scale(), true, true);

        let mut ws = DeviceBuffer::<u8>::filled(paged.workspace_size(), 0xFF);
        let mut o = poisoned_output(qt, b * p.hq * p.d);
        let mut lse = DeviceBuffer::<f32>::filled(b * p.hq, 0xFF);
        paged
            .run(
                stream.stream(),
                CascadeArgs {
                    q: x.q(),
                    k_cache: x.dev.k_cache(p),
                    v_cache: x.dev.v_cache(p),
                    prefix: x.prefix(),
                    suffixes: x.suffixes_in_one_array(),
                    o: out_view(&mut o, qt, [b, p.hq, p.d]),
                    lse: Some(lse.slice_mut().tensor([b, p.hq])),
                },
                &mut Workspace::new(ws.slice_mut()),
            )
            .unwrap();
        stream.synchronize();
        x.check(&format!("{element} fused cascade"), &o, &lse, &want);

        // The prefix's rows copied into dense [L, Hkv, D] tensors (NHD).
        let (kt, es) = (element.kv_dtype(), element.kv_dtype().size());
        let row = p.d * es;
        let dense_copy = |bytes: &[u8]| {
            let mut out = Vec::with_capacity(PREFIX * p.hkv * row);
            for (page, slot) in p.tokens(0) {
                for h in 0..p.hkv {
                    let at = p.slot(page, h, slot) * es;
                    out.extend_from_slice(&bytes[at..at + row]);
                }
            }
            out
        };
        let kp = DeviceBuffer::from_host(&dense_copy(&p.k_bytes));
        let vp = DeviceBuffer::from_host(&dense_copy(&p.v_bytes));
        let mut ws = DeviceBuffer::<u8>::filled(dense.workspace_size(), 0xFF);
        o.fill(0xFF);
        lse.fill(0xFF);
        dense
            .run(
                stream.stream(),
                DensePrefixCascadeArgs {
                    q: x.q(),
                    k_prefix: TensorRef::from_bytes(kp.slice(), kt, [PREFIX, p.hkv, p.d]),
                    v_prefix: TensorRef::from_bytes(vp.slice(), kt, [PREFIX, p.hkv, p.d]),
                    k_cache: x.dev.k_cache(p),
                    v_cache: x.dev.v_cache(p),
                    suffixes: x.suffixes_in_one_array(),
                    o: out_view(&mut o, qt, [b, p.hq, p.d]),
                    lse: Some(lse.slice_mut().tensor([b, p.hq])),
                },
                &mut Workspace::new(ws.slice_mut()),
            )
            .unwrap();
        stream.synchronize();
        x.check(
            &format!("{element} fused cascade, dense prefix"),
            &o,
            &lse,
            &want,
        );
    }
}
