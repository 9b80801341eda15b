//! Samplers: the support of every filter (exact: no draw outside the kept set), the draw
//! frequencies against the renormalised target (many identical rows, each its own Philox
//! subsequence), per-row thresholds, logits, speculative verification, a captured graph
//! replayed with a device offset the call advances, and the filters against exact references.
use baracuda_flashinfer::{
    DType, Filter, FilterArgs, FilterDesc, FilterPlan, LogitsSamplingArgs, LogitsSamplingDesc,
    LogitsSamplingPlan, Offset, PerRow, Rng as Draws, Sampler, SamplingArgs, SamplingDesc,
    SamplingPlan, Seed, SpeculativeArgs, SpeculativeDesc, SpeculativePlan, Stream, TensorMut,
    TensorRef,
};

use crate::common::{decode, random_values, Rng};
use crate::cuda::{require_gpu, CudaStream, DeviceBuffer};

const VOCAB: usize = 48;

/// A distribution with distinct entries of very different sizes (f32).
fn distribution(vocab: usize, rng: &mut Rng) -> Vec<f32> {
    let w: Vec<f64> = (0..vocab).map(|_| rng.uniform(-4.0, 1.0).exp()).collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|x| (x / total) as f32).collect()
}

/// Per entry of `p`: the number of strictly larger entries and their mass (f64 of the f32s).
fn above(p: &[f32]) -> (Vec<usize>, Vec<f64>) {
    let count = p
        .iter()
        .map(|x| p.iter().filter(|y| *y > x).count())
        .collect();
    let mass = p
        .iter()
        .map(|x| p.iter().filter(|y| *y > x).map(|&y| f64::from(y)).sum())
        .collect();
    (count, mass)
}

/// A top-p threshold halfway between the masses above the entries of ranks `r` and `r + 1`
/// (so entries of ranks 0..=r are kept, far from float rounding).
fn top_p_keeping(p: &[f32], r: usize) -> f32 {
    let mut sorted = p.to_vec();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let mass_above = |j: usize| sorted[..j].iter().map(|&x| f64::from(x)).sum::<f64>();
    ((mass_above(r) + mass_above(r + 1)) / 2.0) as f32
}

/// A min-p ratio halfway between the ratios of the entries of ranks `r` and `r + 1` to the
/// largest (so entries of ranks 0..=r are kept).
fn min_p_keeping(p: &[f32], r: usize) -> f32 {
    let mut sorted = p.to_vec();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    ((sorted[r] / sorted[0] + sorted[r + 1] / sorted[0]) / 2.0).min(1.0)
}

/// The kept set of `sampler` on `p` (ties at the cut-off kept).
fn kept(sampler: Sampler, p: &[f32]) -> Vec<bool> {
    let (count, mass) = above(p);
    let pmax = p.iter().cloned().fold(0.0f32, f32::max);
    (0..p.len())
        .map(|i| match sampler {
            Sampler::FromProbs => p[i] > 0.0,
            Sampler::TopK { k } => count[i] < k as usize,
            Sampler::TopP { p: top_p } => mass[i] < f64::from(top_p),
            Sampler::MinP { p: min_p } => p[i] >= pmax * min_p,
            Sampler::TopKTopP { k, p: top_p } => {
                count[i] < k as usize && mass[i] < f64::from(top_p)
            }
            _ => unreachable!(),
        })
        .collect()
}

/// Draw counts of `tokens` agree with `p` restricted to `keep`, renormalised: no draw outside
/// the kept set, and each kept entry within 6 standard deviations (+3) of its expectation.
fn check_frequencies(label: &str, tokens: &[i32], p: &[f32], keep: &[bool]) {
    let n = tokens.len() as f64;
    let mut counts = vec![0usize; p.len()];
    for &t in tokens {
        assert!(
            (0..p.len() as i32).contains(&t),
            "{label}: token {t} out of range"
        );
        counts[t as usize] += 1;
    }
    let total: f64 = p
        .iter()
        .zip(keep)
        .filter(|x| *x.1)
        .map(|x| f64::from(*x.0))
        .sum();
    let mut worst = 0.0f64;
    for i in 0..p.len() {
        if !keep[i] {
            assert_eq!(
                counts[i], 0,
                "{label}: token {i} drawn {} times outside the kept set",
                counts[i]
            );
            continue;
        }
        let t = f64::from(p[i]) / total;
        let sd = (n * t * (1.0 - t)).sqrt();
        let z = (counts[i] as f64 - n * t).abs() / (sd + 0.5);
        worst = worst.max(z);
        assert!(
            (counts[i] as f64 - n * t).abs() <= 6.0 * sd + 3.0,
            "{label}: token {i} drawn {} times, expected {:.1} (sd {sd:.1})",
            counts[i],
            n * t
        );
    }
    println!(
        "{label}: {} draws, {} kept entries, worst |z| {worst:.2}",
        tokens.len(),
        keep.iter().filter(|x| **x).count()
    );
}

fn replicate(row: &[f32], rows: usize) -> Vec<f32> {
    row.iter().cycle().take(row.len() * rows).cloned().collect()
}

fn sample(
    plan: &SamplingPlan,
    probs: &DeviceBuffer<f32>,
    per_row: PerRow<'_>,
    seed: u64,
) -> (Vec<i32>, Vec<u8>) {
    let rows = plan.desc().batch_size;
    let mut out = DeviceBuffer::<i32>::filled(rows, 0xFF);
    let mut valid = DeviceBuffer::<u8>::filled(rows, 0xFF);
    let stream = CudaStream::new();
    plan.run(
        stream.stream(),
        SamplingArgs {
            probs: probs.slice().tensor([rows, plan.desc().vocab_size]),
            output: out.slice_mut(),
            valid: Some(valid.slice_mut()),
            per_row,
            rng: Draws::new(seed, 0),
        },
    )
    .unwrap();
    (out.to_host(), valid.to_host())
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn every_sampler_draws_its_target_distribution() {
    require_gpu();
    let mut rng = Rng::new(0x5A3F1E);
    let p = distribution(VOCAB, &mut rng);
    let rows = 16384;
    let probs = DeviceBuffer::from_host(&replicate(&p, rows));
    let samplers = [
        Sampler::FromProbs,
        Sampler::TopK { k: 7 },
        Sampler::TopP {
            p: top_p_keeping(&p, 9),
        },
        Sampler::MinP {
            p: min_p_keeping(&p, 5),
        },
        Sampler::TopKTopP {
            k: 6,
            p: top_p_keeping(&p, 11),
        },
        Sampler::TopKTopP {
            k: 12,
            p: top_p_keeping(&p, 4),
        },
    ];
    for sampler in samplers {
        for deterministic in [true, false] {
            let plan = SamplingPlan::new(&SamplingDesc {
                batch_size: rows,
                vocab_size: VOCAB,
                sampler,
                deterministic,
            })
            .unwrap();
            let (tokens, valid) = sample(&plan, &probs, PerRow::default(), 1234);
            assert!(
                valid.iter().all(|&v| v == 1),
                "{sampler:?}: a valid row flagged invalid"
            );
            check_frequencies(
                &format!("{sampler:?} deterministic={deterministic}"),
                &tokens,
                &p,
                &kept(sampler, &p),
            );
            // The same seed and offset draw the same tokens again.
            assert_eq!(
                sample(&plan, &probs, PerRow::default(), 1234).0,
                tokens,
                "{sampler:?}: not repeatable"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn per_row_thresholds_replace_the_scalar() {
    require_gpu();
    let mut rng = Rng::new(0x9E580);
    let rows = 7 * 512;
    let p = distribution(VOCAB, &mut rng);
    let probs = DeviceBuffer::from_host(&replicate(&p, rows));
    let ks: Vec<i32> = (0..rows).map(|b| 1 + (b % 7) as i32).collect();
    let ranks: Vec<usize> = (0..rows).map(|b| b % 5).collect();
    let ps: Vec<f32> = ranks.iter().map(|&r| top_p_keeping(&p, r)).collect();
    let (dk, dp) = (DeviceBuffer::from_host(&ks), DeviceBuffer::from_host(&ps));
    let argmax = (0..VOCAB)
        .max_by(|&a, &b| p[a].partial_cmp(&p[b]).unwrap())
        .unwrap() as i32;
    for (sampler, use_k, use_p) in [
        (Sampler::TopK { k: 40 }, true, false),
        (Sampler::TopP { p: 0.99 }, false, true),
        (Sampler::TopKTopP { k: 40, p: 0.99 }, true, true),
    ] {
        let plan = SamplingPlan::new(&SamplingDesc {
            batch_size: rows,
            vocab_size: VOCAB,
            sampler,
            ..SamplingDesc::default()
        })
        .unwrap();
        let per_row = PerRow {
            top_k: use_k.then(|| dk.slice()),
            p: use_p.then(|| dp.slice()),
        };
        let (tokens, valid) = sample(&plan, &probs, per_row, 77);
        for b in 0..rows {
            assert_eq!(valid[b], 1, "{sampler:?} row {b}");
            let k = if use_k { ks[b] as u32 } else { VOCAB as u32 };
            let top_p = if use_p { ps[b] } else { 1.0 };
            let keep = kept(Sampler::TopKTopP { k, p: top_p }, &p);
            assert!(
                keep[tokens[b] as usize],
                "{sampler:?} row {b} (k {k}, p {top_p}): token {} not kept",
                tokens[b]
            );
            if use_k && ks[b] == 1 {
                assert_eq!(
                    tokens[b], argmax,
                    "{sampler:?} row {b}: k = 1 must draw the argmax"
                );
            }
        }
        println!("{sampler:?}: every row drew from its own per-row set");
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn logits_sampling_draws_the_softmax() {
    require_gpu();
    let mut rng = Rng::new(0x1061);
    let rows = 16384;
    let mut p = distribution(VOCAB, &mut rng);
    // Four tokens masked to -inf logits: never drawn.
    for i in [3, 17, 30, 41] {
        p[i] = 0.0;
    }
    let logits: Vec<f32> = p
        .iter()
        .map(|&x| {
            if x > 0.0 {
                x.ln() + 2.0
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let plan = LogitsSamplingPlan::new(&LogitsSamplingDesc {
        batch_size: rows,
        vocab_size: VOCAB,
        dtype: DType::F32,
    })
    .unwrap();
    let input = DeviceBuffer::from_host(&replicate(&logits, rows));
    let mut out = DeviceBuffer::<i32>::filled(rows, 0xFF);
    let stream = CudaStream::new();
    plan.run(
        stream.stream(),
        LogitsSamplingArgs {
            logits: input.slice().tensor([rows, VOCAB]),
            output: out.slice_mut(),
            rng: Draws::new(99, 0),
        },
    )
    .unwrap();
    let keep: Vec<bool> = p.iter().map(|&x| x > 0.0).collect();
    check_frequencies("logits f32", &out.to_host(), &p, &keep);

    // bf16 and f16 logits: the support (the noise in those types biases near-ties).
    for dtype in [DType::Bf16, DType::F16] {
        let (mut bytes, _) = random_values(dtype, rows * VOCAB, 3.0, &mut rng);
        let neg_inf: [u8; 2] = if dtype == DType::Bf16 {
            0xFF80u16.to_le_bytes()
        } else {
            0xFC00u16.to_le_bytes()
        };
        for r in 0..rows {
            for i in [0, 5, VOCAB - 1] {
                bytes[(r * VOCAB + i) * 2..][..2].copy_from_slice(&neg_inf);
            }
        }
        let plan = LogitsSamplingPlan::new(&LogitsSamplingDesc {
            batch_size: rows,
            vocab_size: VOCAB,
            dtype,
        })
        .unwrap();
        let input = DeviceBuffer::from_host(&bytes);
        out.fill(0xFF);
        plan.run(
            stream.stream(),
            LogitsSamplingArgs {
                logits: TensorRef::from_bytes(input.slice(), dtype, [rows, VOCAB]),
                output: out.slice_mut(),
                rng: Draws::new(5, 0),
            },
        )
        .unwrap();
        let tokens = out.to_host();
        assert!(
            tokens
                .iter()
                .all(|&t| (1..VOCAB as i32 - 1).contains(&t) && t != 5),
            "{dtype}: a -inf logit was drawn or a token is out of range"
        );
        println!("logits {dtype}: {rows} draws, none of a -inf logit");
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn graph_replays_draw_fresh_tokens_with_a_device_offset() {
    require_gpu();
    let mut rng = Rng::new(0x6AA9);
    let rows = 4096;
    let p = distribution(VOCAB, &mut rng);
    let probs = DeviceBuffer::from_host(&replicate(&p, rows));
    let plan = SamplingPlan::new(&SamplingDesc {
        batch_size: rows,
        vocab_size: VOCAB,
        sampler: Sampler::TopK { k: 24 },
        ..SamplingDesc::default()
    })
    .unwrap();
    let step = plan.offset_step();
    let mut seed = DeviceBuffer::<u64>::from_host(&[42]);
    let mut offset = DeviceBuffer::<u64>::from_host(&[0]);
    let mut out = DeviceBuffer::<i32>::filled(rows, 0xFF);
    let stream = CudaStream::new();
    let run = |s: Stream<'_>, out: &mut DeviceBuffer<i32>, offset: &mut DeviceBuffer<u64>| {
        let args = SamplingArgs {
            probs: probs.slice().tensor([rows, VOCAB]),
            output: out.slice_mut(),
            valid: None,
            per_row: PerRow::default(),
            rng: Draws {
                seed: Seed::Device(seed.slice()),
                offset: Offset::Device(offset.slice_mut()),
            },
        };
        plan.run(s, args).unwrap()
    };
    // A warm-up run (first calls set kernel attributes), then the capture from offset 0.
    run(stream.stream(), &mut out, &mut offset);
    offset.upload(&[0]);
    let graph = stream.capture(|s| run(s, &mut out, &mut offset));
    let replay = || {
        stream.launch(&graph);
        stream.synchronize();
        out.to_host()
    };
    let first = replay();
    assert_eq!(
        offset.to_host(),
        [step],
        "the call advances the device offset by its step"
    );
    let second = replay();
    assert_eq!(offset.to_host(), [2 * step]);
    let differ = first.iter().zip(&second).filter(|(a, b)| a != b).count();
    assert!(
        differ > rows / 2,
        "two replays drew the same tokens in {} of {rows} rows",
        rows - differ
    );
    let keep = kept(Sampler::TopK { k: 24 }, &p);
    check_frequencies("graph replay 1", &first, &p, &keep);
    check_frequencies("graph replay 2", &second, &p, &keep);
    // Resetting the offset replays the same draws; another seed draws others.
    offset.upload(&[0]);
    assert_eq!(
        replay(),
        first,
        "a reset offset must replay the first draws"
    );
    offset.upload(&[0]);
    seed.upload(&[43]);
    let other = replay();
    let differ = first.iter().zip(&other).filter(|(a, b)| a != b).count();
    assert!(
        differ > rows / 2,
        "another seed drew the same tokens in {} of {rows} rows",
        rows - differ
    );
    println!("graph replays: fresh draws each replay, reset replays, offset advanced by {step}");
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn speculative_verification_accepts_and_rejects_as_specified() {
    require_gpu();
    let mut rng = Rng::new(0x5BEC);
    let (rows, s, v) = (64usize, 3usize, 32usize);
    let plan = SpeculativePlan::new(&SpeculativeDesc {
        batch_size: rows,
        num_speculative_tokens: s,
        vocab_size: v,
        ..SpeculativeDesc::default()
    })
    .unwrap();
    for reject_at_1 in [false, true] {
        let mut draft = Vec::new();
        let mut target = Vec::new();
        let mut ids = Vec::new();
        let mut rejected_id = vec![0i32; rows];
        for rejected in rejected_id.iter_mut() {
            let rows_draft: Vec<Vec<f32>> = (0..s).map(|_| distribution(v, &mut rng)).collect();
            for (i, d) in rows_draft.iter().enumerate() {
                // A draft token the draft model gives at least 2 %.
                let id = loop {
                    let id = rng.int(0, v as i64 - 1) as usize;
                    if d[id] >= 0.02 {
                        break id;
                    }
                };
                ids.push(id as i32);
                draft.extend_from_slice(d);
                let mut t = d.clone();
                if reject_at_1 && i == 1 {
                    // The target gives the draft token nothing: it is rejected.
                    t[id] = 0.0;
                    let total: f32 = t.iter().sum();
                    t.iter_mut().for_each(|x| *x /= total);
                    *rejected = id as i32;
                }
                target.extend_from_slice(&t);
            }
            // The bonus distribution: mass on the first half of the vocabulary only.
            let mut bonus = distribution(v, &mut rng);
            bonus[v / 2..].iter_mut().for_each(|x| *x = 0.0);
            let total: f32 = bonus.iter().sum();
            target.extend(bonus.iter().map(|x| x / total));
        }
        let (d_draft, d_target, d_ids) = (
            DeviceBuffer::from_host(&draft),
            DeviceBuffer::from_host(&target),
            DeviceBuffer::from_host(&ids),
        );
        let mut out = DeviceBuffer::<i32>::filled(rows * (s + 1), 0x7F);
        let mut accepted = DeviceBuffer::<i32>::filled(rows, 0x7F);
        let mut emitted = DeviceBuffer::<i32>::filled(rows, 0x7F);
        let stream = CudaStream::new();
        // SAFETY: every draft id is in [0, vocab).
        unsafe {
            plan.run(
                stream.stream(),
                SpeculativeArgs {
                    draft_probs: d_draft.slice().tensor([rows, s, v]),
                    draft_token_ids: d_ids.slice(),
                    target_probs: d_target.slice().tensor([rows, s + 1, v]),
                    output_token_ids: out.slice_mut(),
                    accepted_token_num: accepted.slice_mut(),
                    emitted_draft_token_num: emitted.slice_mut(),
                    rng: Draws::new(11, 0),
                },
            )
        }
        .unwrap();
        let (out, accepted, emitted) = (out.to_host(), accepted.to_host(), emitted.to_host());
        for b in 0..rows {
            let row = &out[b * (s + 1)..][..s + 1];
            let drafted = &ids[b * s..][..s];
            if !reject_at_1 {
                // target == draft: every draft token passes, then the bonus token.
                assert_eq!((accepted[b], emitted[b]), (s as i32, s as i32), "row {b}");
                assert_eq!(&row[..s], drafted, "row {b}");
                assert!(
                    (0..v as i32 / 2).contains(&row[s]),
                    "row {b}: bonus token {} outside the target's support",
                    row[s]
                );
            } else {
                // Position 0 passes, 1 is rejected (the correction comes from relu(target -
                // draft), which excludes the rejected token), 2 would have passed.
                assert_eq!(emitted[b], 1, "row {b}");
                assert_eq!(
                    accepted[b], 2,
                    "row {b}: pos 1 plus the later token that would pass"
                );
                assert_eq!(row[0], drafted[0], "row {b}");
                assert!(
                    (0..v as i32).contains(&row[1]) && row[1] != rejected_id[b],
                    "row {b}: correction {}",
                    row[1]
                );
                assert_eq!(&row[2..], &[-1, -1], "row {b}");
            }
        }
        println!("speculative (reject at 1: {reject_at_1}): every row as specified");
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn filters_match_exact_references() {
    require_gpu();
    let mut rng = Rng::new(0xF117E2);
    let (rows, v) = (64usize, 200usize);
    let stream = CudaStream::new();
    let probs: Vec<Vec<f32>> = (0..rows).map(|_| distribution(v, &mut rng)).collect();
    let flat: Vec<f32> = probs.concat();
    let input = DeviceBuffer::from_host(&flat);
    let ks: Vec<i32> = (0..rows).map(|b| 1 + (b % 9) as i32).collect();
    let ps: Vec<f32> = probs
        .iter()
        .enumerate()
        .map(|(b, p)| top_p_keeping(p, b % 13))
        .collect();
    let (dk, dp) = (DeviceBuffer::from_host(&ks), DeviceBuffer::from_host(&ps));
    let check_renorm = |label: &str, got: &[f32], keep: &dyn Fn(usize) -> Vec<bool>| {
        for b in 0..rows {
            let (p, keep) = (&probs[b], keep(b));
            let total: f64 = p
                .iter()
                .zip(&keep)
                .filter(|x| *x.1)
                .map(|x| f64::from(*x.0))
                .sum();
            for i in 0..v {
                let want = if keep[i] {
                    f64::from(p[i]) / total
                } else {
                    0.0
                };
                let g = f64::from(got[b * v + i]);
                assert!(
                    (g - want).abs() <= 4e-6 * want.max(1e-3),
                    "{label} row {b} entry {i}: {g} vs {want}"
                );
            }
        }
        println!("{label}: every row exact");
    };
    for (filter, per_row) in [
        (Filter::TopKRenormProbs { k: 10 }, false),
        (Filter::TopKRenormProbs { k: 1 }, true),
        (Filter::TopPRenormProbs { p: 1.0 }, true),
    ] {
        let plan = FilterPlan::new(&FilterDesc {
            batch_size: rows,
            vocab_size: v,
            filter,
            dtype: DType::F32,
        })
        .unwrap();
        let mut out = DeviceBuffer::<f32>::filled(rows * v, 0xFF);
        let rows_thresholds = match (filter, per_row) {
            (_, false) => PerRow::default(),
            (Filter::TopKRenormProbs { .. }, true) => PerRow {
                top_k: Some(dk.slice()),
                p: None,
            },
            _ => PerRow {
                top_k: None,
                p: Some(dp.slice()),
            },
        };
        plan.run(
            stream.stream(),
            FilterArgs {
                input: input.slice().tensor([rows, v]),
                output: out.slice_mut().tensor([rows, v]),
                per_row: rows_thresholds,
            },
        )
        .unwrap();
        let got = out.to_host();
        match (filter, per_row) {
            (Filter::TopKRenormProbs { k }, false) => {
                check_renorm("top_k_renorm k=10", &got, &|b| {
                    kept(Sampler::TopK { k }, &probs[b])
                })
            }
            (Filter::TopKRenormProbs { .. }, true) => {
                check_renorm("top_k_renorm per-row k", &got, &|b| {
                    kept(Sampler::TopK { k: ks[b] as u32 }, &probs[b])
                })
            }
            _ => check_renorm("top_p_renorm per-row p", &got, &|b| {
                kept(Sampler::TopP { p: ps[b] }, &probs[b])
            }),
        }
    }
    // Masking logits (ties at the cut-off kept), out of place and in place.
    for dtype in [DType::F32, DType::F16, DType::Bf16] {
        let (bytes, logits) = random_values(dtype, rows * v, 3.0, &mut rng);
        let plan = FilterPlan::new(&FilterDesc {
            batch_size: rows,
            vocab_size: v,
            filter: Filter::TopKMaskLogits { k: 13 },
            dtype,
        })
        .unwrap();
        let input = DeviceBuffer::from_host(&bytes);
        let mut out = DeviceBuffer::<u8>::filled(bytes.len(), 0xFF);
        plan.run(
            stream.stream(),
            FilterArgs {
                input: TensorRef::from_bytes(input.slice(), dtype, [rows, v]),
                output: TensorMut::from_bytes(out.slice_mut(), dtype, [rows, v]),
                per_row: PerRow::default(),
            },
        )
        .unwrap();
        let mut in_place = DeviceBuffer::from_host(&bytes);
        plan.run_in_place(
            stream.stream(),
            TensorMut::from_bytes(in_place.slice_mut(), dtype, [rows, v]),
            PerRow::default(),
        )
        .unwrap();
        for got in [
            decode(dtype, &out.to_host()),
            decode(dtype, &in_place.to_host()),
        ] {
            for b in 0..rows {
                let row = &logits[b * v..][..v];
                for i in 0..v {
                    let larger = row.iter().filter(|&&y| y > row[i]).count();
                    let want = if larger < 13 {
                        row[i]
                    } else {
                        f64::NEG_INFINITY
                    };
                    assert_eq!(got[b * v + i], want, "{dtype} mask row {b} entry {i}");
                }
            }
        }
        println!("top_k_mask_logits {dtype}: exact, out of place and in place");
    }
}
