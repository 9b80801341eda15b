//! The three merges against the float64 merge of attention states, empty states included, on
//! a created, the legacy and the per-thread stream.
use baracuda_flashinfer::{
    DType, MergeDesc, MergeInPlaceArgs, MergeInPlacePlan, MergeStatesArgs, MergeStatesPlan,
    MergeVarlenArgs, MergeVarlenPlan, Stream, TensorMut, TensorRef,
};

use crate::common::{lse_tolerance, max_error, o_tolerance, random_values, Rng};
use crate::cuda::{require_gpu, CudaStream, DeviceBuffer};
use crate::{f32_values, values};

const H: usize = 4;
const D: usize = 128;

/// float64 merge of `states` (each (v [H * D], s [H])) per head.
fn merge_reference(states: &[(&[f64], &[f64])]) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; H * D];
    let mut s = vec![f64::NEG_INFINITY; H];
    for h in 0..H {
        let m = states
            .iter()
            .map(|st| st.1[h])
            .fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            continue; // only empty states: v = 0, s = -inf
        }
        let w: Vec<f64> = states.iter().map(|st| (st.1[h] - m).exp2()).collect();
        let total: f64 = w.iter().sum();
        for (st, wi) in states.iter().zip(&w) {
            for d in 0..D {
                v[h * D + d] += wi / total * st.0[h * D + d];
            }
        }
        s[h] = m + total.log2();
    }
    (v, s)
}

/// `rows` random states: v of `dtype` in [-1, 1], s (f32) in [-8, 8] with every 5th -inf.
fn states(dtype: DType, rows: usize, rng: &mut Rng) -> (Vec<u8>, Vec<f64>, Vec<f32>) {
    let (bytes, v) = random_values(dtype, rows * H * D, 1.0, rng);
    let s = (0..rows * H)
        .map(|i| {
            if i % 5 == 3 {
                f32::NEG_INFINITY
            } else {
                rng.uniform(-8.0, 8.0) as f32
            }
        })
        .collect();
    (bytes, v, s)
}

fn check(label: &str, dtype: DType, v: &[f64], s: &[f64], want: &(Vec<f64>, Vec<f64>)) {
    let (v_err, s_err) = (max_error(v, &want.0, false), max_error(s, &want.1, true));
    println!("{label}: max |v - ref| {v_err:.2e}, max s rel err {s_err:.2e}");
    assert!(
        v_err <= o_tolerance(dtype),
        "{label}: max |v - ref| = {v_err}"
    );
    assert!(
        s_err <= lse_tolerance(DType::F32),
        "{label}: s error {s_err}"
    );
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn merges_match_f64() {
    require_gpu();
    let mut rng = Rng::new(0x3E26E);
    let created = CudaStream::new();
    for (dtype, stream) in [
        (DType::F16, created.stream()),
        (DType::Bf16, Stream::legacy()),
        (DType::F32, Stream::per_thread()),
    ] {
        let seq = 7;
        let desc = MergeDesc {
            seq_len: seq,
            num_heads: H,
            head_dim: D,
            dtype,
        };
        let row = |x: &[f64], r: usize, n: usize| x[r * n..(r + 1) * n].to_vec();
        let as_f64 = |s: &[f32]| s.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();

        // In place: (v, s) <- merge((v, s), (v_other, s_other)).
        let (a_bytes, a_v, a_s) = states(dtype, seq, &mut rng);
        let (b_bytes, b_v, b_s) = states(dtype, seq, &mut rng);
        let (mut v, mut s) = (
            DeviceBuffer::from_host(&a_bytes),
            DeviceBuffer::from_host(&a_s),
        );
        let (vo, so) = (
            DeviceBuffer::from_host(&b_bytes),
            DeviceBuffer::from_host(&b_s),
        );
        MergeInPlacePlan::new(&desc)
            .unwrap()
            .run(
                stream,
                MergeInPlaceArgs {
                    v: TensorMut::from_bytes(v.slice_mut(), dtype, [seq, H, D]),
                    s: s.slice_mut().tensor([seq, H]),
                    v_other: TensorRef::from_bytes(vo.slice(), dtype, [seq, H, D]),
                    s_other: so.slice().tensor([seq, H]),
                },
            )
            .unwrap();
        let (got_v, got_s) = (values(&v, dtype), f32_values(&s));
        let (a_s, b_s) = (as_f64(&a_s), as_f64(&b_s));
        for r in 0..seq {
            let (av, asr, bv, bsr) = (
                row(&a_v, r, H * D),
                row(&a_s, r, H),
                row(&b_v, r, H * D),
                row(&b_s, r, H),
            );
            let want = merge_reference(&[(&av, &asr), (&bv, &bsr)]);
            check(
                &format!("{dtype} in place, row {r}"),
                dtype,
                &row(&got_v, r, H * D),
                &row(&got_s, r, H),
                &want,
            );
        }

        // N-way: [seq, N, H, D] -> [seq, H, D].
        let n = 3;
        let (bytes, sv, ss) = states(dtype, seq * n, &mut rng);
        let (dv, ds) = (
            DeviceBuffer::from_host(&bytes),
            DeviceBuffer::from_host(&ss),
        );
        let mut out_v = DeviceBuffer::<u8>::filled(seq * H * D * dtype.size(), 0xFF);
        let mut out_s = DeviceBuffer::<f32>::filled(seq * H, 0xFF);
        MergeStatesPlan::new(&desc, n)
            .unwrap()
            .run(
                stream,
                MergeStatesArgs {
                    v: TensorRef::from_bytes(dv.slice(), dtype, [seq, n, H, D]),
                    s: ds.slice().tensor([seq, n, H]),
                    v_merged: TensorMut::from_bytes(out_v.slice_mut(), dtype, [seq, H, D]),
                    s_merged: Some(out_s.slice_mut().tensor([seq, H])),
                },
            )
            .unwrap();
        let (got_v, got_s, ss) = (values(&out_v, dtype), f32_values(&out_s), as_f64(&ss));
        for r in 0..seq {
            let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..n)
                .map(|i| (row(&sv, r * n + i, H * D), row(&ss, r * n + i, H)))
                .collect();
            let refs: Vec<(&[f64], &[f64])> = parts.iter().map(|(a, b)| (&a[..], &b[..])).collect();
            check(
                &format!("{dtype} {n}-way, row {r}"),
                dtype,
                &row(&got_v, r, H * D),
                &row(&got_s, r, H),
                &merge_reference(&refs),
            );
        }

        // Variable length: position p merges rows indptr[p] .. indptr[p + 1] (none for one).
        let counts = [2usize, 0, 1, 4, 3, 1, 5];
        let mut indptr = vec![0i32];
        for c in counts {
            indptr.push(indptr.last().unwrap() + c as i32);
        }
        let rows = *indptr.last().unwrap() as usize;
        let (bytes, sv, ss) = states(dtype, rows, &mut rng);
        let (dv, ds, dip) = (
            DeviceBuffer::from_host(&bytes),
            DeviceBuffer::from_host(&ss),
            DeviceBuffer::from_host(&indptr),
        );
        out_v.fill(0xFF);
        out_s.fill(0xFF);
        let varlen = MergeVarlenPlan::new(&desc).unwrap();
        // SAFETY: indptr is non-decreasing from 0 and ends at the rows of v and s.
        unsafe {
            varlen.run(
                stream,
                MergeVarlenArgs {
                    v: TensorRef::from_bytes(dv.slice(), dtype, [rows, H, D]),
                    s: ds.slice().tensor([rows, H]),
                    indptr: dip.slice(),
                    v_merged: TensorMut::from_bytes(out_v.slice_mut(), dtype, [seq, H, D]),
                    s_merged: Some(out_s.slice_mut().tensor([seq, H])),
                },
            )
        }
        .unwrap();
        let (got_v, got_s, ss) = (values(&out_v, dtype), f32_values(&out_s), as_f64(&ss));
        for r in 0..seq {
            let parts: Vec<(Vec<f64>, Vec<f64>)> = (indptr[r] as usize..indptr[r + 1] as usize)
                .map(|i| (row(&sv, i, H * D), row(&ss, i, H)))
                .collect();
            let refs: Vec<(&[f64], &[f64])> = parts.iter().map(|(a, b)| (&a[..], &b[..])).collect();
            check(
                &format!("{dtype} varlen, position {r}"),
                dtype,
                &row(&got_v, r, H * D),
                &row(&got_s, r, H),
                &merge_reference(&refs),
            );
        }
    }
}
