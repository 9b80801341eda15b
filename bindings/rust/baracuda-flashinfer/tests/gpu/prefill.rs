//! Prefill through `PrefillPlan` over ragged keys: a batch of prompts, a chunk on a prefix,
//! decode rows, a request without keys and one with more query rows than keys, causal and not,
//! plain and with a window and sinks, on the default kernel and forced FA2, against a float64
//! reference; o and lse NaN-poisoned. bf16 K/V, and e4m3 K/V under bf16 queries.
use baracuda_flashinfer::{
    AttentionOptions, Element, PrefillArgs, PrefillDesc, PrefillKernel, PrefillKeys, PrefillKv,
    PrefillPlan, TensorRef, Workspace,
};

use crate::common::{lse_tolerance, max_error, o_tolerance, random_values, Rng};
use crate::cuda::{require_gpu, CudaStream, DeviceBuffer};
use crate::{f32_values, out_view, poisoned_output, values, NEEDS_GPU};

const HQ: usize = 8;
const HKV: usize = 2;
const D: usize = 64;

/// A ragged batch: request b's query rows q_indptr[b].., its keys kv_indptr[b]..
struct Ragged {
    element: Element,
    q_lens: Vec<usize>,
    kv_lens: Vec<usize>,
    q_indptr: Vec<i32>,
    kv_indptr: Vec<i32>,
    q: (Vec<u8>, Vec<f64>),
    k: (Vec<u8>, Vec<f64>),
    v: (Vec<u8>, Vec<f64>),
    sinks: Vec<f32>,
}

fn offsets(lens: &[usize]) -> Vec<i32> {
    let mut o = vec![0i32];
    for &l in lens {
        o.push(o.last().unwrap() + l as i32);
    }
    o
}

impl Ragged {
    fn new(element: Element, q_lens: Vec<usize>, kv_lens: Vec<usize>, rng: &mut Rng) -> Self {
        let (dtype, kv_dtype) = (element.query_dtype(), element.kv_dtype());
        let rows: usize = q_lens.iter().sum();
        let kv_rows: usize = kv_lens.iter().sum();
        let sinks = (0..HQ).map(|_| rng.uniform(-1.0, 3.0) as f32).collect();
        Ragged {
            element,
            q_indptr: offsets(&q_lens),
            kv_indptr: offsets(&kv_lens),
            q: random_values(dtype, rows * HQ * D, 1.0, rng),
            k: random_values(kv_dtype, kv_rows.max(1) * HKV * D, 1.0, rng),
            v: random_values(kv_dtype, kv_rows.max(1) * HKV * D, 1.0, rng),
            q_lens,
            kv_lens,
            sinks,
        }
    }

    fn rows(&self) -> usize {
        self.q_lens.iter().sum()
    }

    fn kv_rows(&self) -> usize {
        self.kv_lens.iter().sum::<usize>().max(1)
    }

    /// o [rows, HQ, D] and base-2 lse [rows, HQ] in float64.
    fn reference(
        &self,
        scale: f64,
        causal: bool,
        window: Option<u32>,
        sinks: bool,
    ) -> (Vec<f64>, Vec<f64>) {
        let (q, k, v) = (&self.q.1, &self.k.1, &self.v.1);
        let mut o = vec![0.0; self.rows() * HQ * D];
        let mut lse = vec![f64::NEG_INFINITY; self.rows() * HQ];
        for b in 0..self.q_lens.len() {
            let (qo_len, kv_len) = (self.q_lens[b], self.kv_lens[b]);
            for i in 0..qo_len {
                let row = self.q_indptr[b] as usize + i;
                for h in 0..HQ {
                    let kvh = h / (HQ / HKV);
                    let kept: Vec<usize> = (0..kv_len)
                        .filter(|&j| !causal || j + qo_len <= kv_len + i)
                        .filter(|&j| window.map_or(true, |w| j + qo_len + w as usize >= kv_len + i))
                        .collect();
                    let scores: Vec<f64> = kept
                        .iter()
                        .map(|&j| {
                            let key = self.kv_indptr[b] as usize + j;
                            let qs = &q[(row * HQ + h) * D..][..D];
                            let ks = &k[(key * HKV + kvh) * D..][..D];
                            scale * qs.iter().zip(ks).map(|(a, b)| a * b).sum::<f64>()
                        })
                        .collect();
                    let sink = sinks.then(|| f64::from(self.sinks[h]));
                    let m = scores
                        .iter()
                        .copied()
                        .chain(sink)
                        .fold(f64::NEG_INFINITY, f64::max);
                    if m == f64::NEG_INFINITY {
                        continue; // no key, no sink: o = 0, lse = -inf
                    }
                    let weights: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                    let den = weights.iter().sum::<f64>() + sink.map_or(0.0, |s| (s - m).exp());
                    for (w, &j) in weights.iter().zip(&kept) {
                        let key = self.kv_indptr[b] as usize + j;
                        for x in 0..D {
                            o[(row * HQ + h) * D + x] += w / den * v[(key * HKV + kvh) * D + x];
                        }
                    }
                    lse[row * HQ + h] = (m + den.ln()) / std::f64::consts::LN_2;
                }
            }
        }
        (o, lse)
    }
}

fn check(r: &Ragged, causal: bool, window: Option<u32>, sinks: bool, kernel: PrefillKernel) {
    let label = format!(
        "{}: causal {causal}, window {window:?}, sinks {sinks}, {kernel:?}",
        r.element.name()
    );
    let plan = PrefillPlan::new(&PrefillDesc {
        keys: PrefillKeys::Ragged {
            max_kv_rows: r.kv_rows(),
        },
        batch_size: r.q_lens.len(),
        max_q_rows: r.rows(),
        num_qo_heads: HQ,
        num_kv_heads: HKV,
        head_dim: D,
        element: r.element,
        causal,
        options: AttentionOptions {
            window_left: window,
            sinks,
            ..AttentionOptions::default()
        },
        kernel,
        ..PrefillDesc::default()
    })
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    let (dt, kv_dt) = (r.element.query_dtype(), r.element.kv_dtype());
    let (q, k, v) = (
        DeviceBuffer::from_host(&r.q.0),
        DeviceBuffer::from_host(&r.k.0),
        DeviceBuffer::from_host(&r.v.0),
    );
    let (q_indptr, kv_indptr) = (
        DeviceBuffer::from_host(&r.q_indptr),
        DeviceBuffer::from_host(&r.kv_indptr),
    );
    let d_sinks = DeviceBuffer::from_host(&r.sinks);
    let mut o = poisoned_output(dt, r.rows() * HQ * D);
    let mut lse = DeviceBuffer::<f32>::filled(r.rows() * HQ, 0xFF);
    let mut ws = DeviceBuffer::<u8>::filled(plan.workspace_size(), 0xFF);
    let stream = CudaStream::new();
    let args = PrefillArgs {
        q: TensorRef::from_bytes(q.slice(), dt, [r.rows(), HQ, D]),
        q_indptr: q_indptr.slice(),
        kv: PrefillKv::Ragged {
            k: TensorRef::from_bytes(k.slice(), kv_dt, [r.kv_rows(), HKV, D]),
            v: TensorRef::from_bytes(v.slice(), kv_dt, [r.kv_rows(), HKV, D]),
            kv_indptr: kv_indptr.slice(),
        },
        sinks: sinks.then(|| d_sinks.slice()),
        o: out_view(&mut o, dt, [r.rows(), HQ, D]),
        lse: Some(lse.slice_mut().tensor([r.rows(), HQ])),
    };
    // SAFETY: the offsets are monotone from 0 and end at the tensors' row counts.
    unsafe { plan.run(stream.stream(), args, &mut Workspace::new(ws.slice_mut())) }
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    stream.synchronize();
    let (ref_o, ref_lse) = r.reference(f64::from(plan.sm_scale()), causal, window, sinks);
    let o_err = max_error(&values(&o, dt), &ref_o, false);
    let lse_err = max_error(&f32_values(&lse), &ref_lse, true);
    println!("{label}: max |o - ref| {o_err:.2e}, max lse rel err {lse_err:.2e}");
    assert!(o_err <= o_tolerance(dt), "{label}: max |o - ref| = {o_err}");
    assert!(lse_err <= lse_tolerance(dt), "{label}: lse error {lse_err}");
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn prefill_ragged_batches_match_f64() {
    let _ = NEEDS_GPU;
    require_gpu();
    let mut rng = Rng::new(0x5eed_0018);
    for element in [Element::Bf16, Element::Bf16KvE4m3] {
        // A prompt, a chunk on a prefix, two decode rows, no keys, more rows than keys, nothing.
        let r = Ragged::new(
            element,
            vec![300, 64, 1, 1, 7, 40, 0],
            vec![300, 1000, 513, 1, 0, 9, 20],
            &mut rng,
        );
        for kernel in [PrefillKernel::Auto, PrefillKernel::Fa2] {
            for causal in [true, false] {
                check(&r, causal, None, false, kernel);
                check(&r, causal, Some(100), true, kernel);
            }
        }
    }
}
