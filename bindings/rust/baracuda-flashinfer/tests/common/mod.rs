//! Host side of the GPU tests: random data in every storage type (kept as exact f64 values for
//! the references), the paged KV problem with its float64 decode reference, and the error
//! bounds. No crate: a splitmix64 generator and hand-written f16 / bf16 / fp8 codecs.
#![allow(dead_code)]

use baracuda_flashinfer::{DType, Element};

use crate::cuda::DeviceBuffer;

/// splitmix64: small, fast, good enough for test data; seeded per test.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in [lo, hi].
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.int(0, i as i64) as usize;
            v.swap(i, j);
        }
    }
}

// ---- storage codecs -------------------------------------------------------------------------

pub fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1F);
    let man = f64::from(bits & 0x3FF);
    sign * match exp {
        0 => man * 2f64.powi(-24),
        31 if man == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + man / 1024.0) * 2f64.powi(e - 15),
    }
}

/// The f16 bits of `x`, which must be exactly representable and normal (or zero).
fn f16_bits_exact(x: f64) -> u16 {
    if x == 0.0 {
        return 0;
    }
    let sign = if x < 0.0 { 0x8000 } else { 0 };
    let a = x.abs();
    let e = a.log2().floor() as i32;
    let man = (a / 2f64.powi(e) - 1.0) * 1024.0;
    assert!(
        (-14..=15).contains(&e) && man.fract() == 0.0,
        "{x} is not an exact f16"
    );
    let bits = sign | (((e + 15) as u16) << 10) | man as u16;
    debug_assert_eq!(f16_to_f64(bits), x);
    bits
}

pub fn bf16_to_f64(bits: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(bits) << 16))
}

/// fp8 e4m3 (bias 7, no infinities; S.1111.111 is NaN).
pub fn e4m3_to_f64(byte: u8) -> f64 {
    let sign = if byte >> 7 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((byte >> 3) & 0xF);
    let man = f64::from(byte & 0x7);
    sign * match exp {
        0 => man / 8.0 * 2f64.powi(-6),
        15 if man == 7.0 => f64::NAN,
        e => (1.0 + man / 8.0) * 2f64.powi(e - 7),
    }
}

/// fp8 e5m2: the upper byte of an f16.
pub fn e5m2_to_f64(byte: u8) -> f64 {
    f16_to_f64(u16::from(byte) << 8)
}

/// Decodes a buffer of `dtype` values.
pub fn decode(dtype: DType, bytes: &[u8]) -> Vec<f64> {
    match dtype {
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        DType::Bf16 => bytes
            .chunks_exact(2)
            .map(|c| bf16_to_f64(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        DType::F8E4m3 => bytes.iter().map(|&b| e4m3_to_f64(b)).collect(),
        DType::F8E5m2 => bytes.iter().map(|&b| e5m2_to_f64(b)).collect(),
        other => panic!("no decoder for {other}"),
    }
}

/// `n` random values of `dtype` with |x| < `bound` (bound <= 4), stored exactly: the bytes and
/// their exact values. f16 values are multiples of 2^-9, bf16 of 2^-6, fp8 take random
/// encodings with |x| < 1 (`bound` ignored), f32 any.
pub fn random_values(dtype: DType, n: usize, bound: f64, rng: &mut Rng) -> (Vec<u8>, Vec<f64>) {
    let mut bytes = Vec::with_capacity(n * dtype.size());
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        match dtype {
            DType::F32 => {
                let x = rng.uniform(-bound, bound) as f32;
                bytes.extend_from_slice(&x.to_le_bytes());
                values.push(f64::from(x));
            }
            DType::F16 => {
                let x = (rng.uniform(-bound, bound) * 512.0).round() / 512.0;
                let x = x.clamp(-4.0 + 1.0 / 512.0, 4.0 - 1.0 / 512.0);
                bytes.extend_from_slice(&f16_bits_exact(x).to_le_bytes());
                values.push(x);
            }
            DType::Bf16 => {
                let x = (rng.uniform(-bound, bound) * 64.0).round() / 64.0;
                let x = x.clamp(-4.0 + 1.0 / 64.0, 4.0 - 1.0 / 64.0) as f32;
                bytes.extend_from_slice(&((x.to_bits() >> 16) as u16).to_le_bytes());
                values.push(f64::from(x));
            }
            DType::F8E4m3 | DType::F8E5m2 => {
                // sign, an exponent below the bias (|x| < 1), any mantissa.
                let (exp_bits, man_bits, max_exp) = if dtype == DType::F8E4m3 {
                    (4, 3, 6)
                } else {
                    (5, 2, 14)
                };
                let e = rng.int(0, max_exp) as u8;
                let m = rng.int(0, (1 << man_bits) - 1) as u8;
                let s = (rng.next_u64() & 1) as u8;
                let byte = (s << 7) | (e << man_bits) | m;
                debug_assert!(exp_bits + man_bits == 7);
                bytes.push(byte);
                values.push(if dtype == DType::F8E4m3 {
                    e4m3_to_f64(byte)
                } else {
                    e5m2_to_f64(byte)
                });
            }
            other => panic!("no random values of {other}"),
        }
    }
    (bytes, values)
}

// ---- error bounds (tests/paged_problem.hpp's, per output type) ------------------------------

/// |o - reference| bound for outputs of `dtype` (values are convex combinations of V in
/// [-1, 1]): accumulation in f32, one rounding of the output type, one more for split partials.
pub fn o_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => 2e-5,
        DType::F16 => 2e-3,
        _ => 1.6e-2,
    }
}

/// lse bound, relative to max(1, |lse|).
pub fn lse_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => 2e-4,
        DType::F16 => 1e-3,
        _ => 4e-3,
    }
}

/// max |got - want| over finite references, infinity where `got` is not finite; references of
/// -inf (empty states) need exactly -inf.
pub fn max_error(got: &[f64], want: &[f64], relative: bool) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).fold(0.0, |m: f64, (&g, &w)| {
        let err = if w == f64::NEG_INFINITY {
            if g == f64::NEG_INFINITY {
                0.0
            } else {
                f64::INFINITY
            }
        } else if !g.is_finite() {
            f64::INFINITY
        } else if relative {
            (g - w).abs() / w.abs().max(1.0)
        } else {
            (g - w).abs()
        };
        m.max(err)
    })
}

// ---- paged KV problems ----------------------------------------------------------------------

/// A paged KV cache of random values in shuffled pages, with the host's exact copy.
pub struct Paged {
    pub element: Element,
    pub batch: usize,
    pub hq: usize,
    pub hkv: usize,
    pub d: usize,
    pub p: usize,
    pub num_pages: usize,
    pub lens: Vec<usize>,
    pub indptr: Vec<i32>,
    pub indices: Vec<i32>,
    pub last_page_len: Vec<i32>,
    /// Exact stored values of K, V ([num_pages, hkv, p, d]) and q ([batch, hq, d]).
    pub k: Vec<f64>,
    pub v: Vec<f64>,
    pub q: Vec<f64>,
    pub k_bytes: Vec<u8>,
    pub v_bytes: Vec<u8>,
    pub q_bytes: Vec<u8>,
}

/// The page table of `lens` over `num_pages` pages in a shuffled order (spare pages unused).
pub fn page_table(
    lens: &[usize],
    p: usize,
    num_pages: usize,
    rng: &mut Rng,
) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
    let mut indptr = vec![0i32];
    let mut lpl = Vec::new();
    for &len in lens {
        let pages = (len + p - 1) / p;
        indptr.push(indptr.last().unwrap() + pages as i32);
        lpl.push(if pages == 0 {
            1
        } else {
            (len - (pages - 1) * p) as i32
        });
    }
    let used = *indptr.last().unwrap() as usize;
    assert!(
        used <= num_pages,
        "{used} pages needed, {num_pages} in the cache"
    );
    let mut perm: Vec<i32> = (0..num_pages as i32).collect();
    rng.shuffle(&mut perm);
    perm.truncate(used);
    (indptr, perm, lpl)
}

impl Paged {
    /// `lens` tokens per request, `spare` pages nobody owns.
    pub fn new(
        element: Element,
        [hq, hkv, d, p]: [usize; 4],
        lens: Vec<usize>,
        spare: usize,
        rng: &mut Rng,
    ) -> Paged {
        let used: usize = lens.iter().map(|l| (l + p - 1) / p).sum();
        let num_pages = used + spare;
        let (indptr, indices, last_page_len) = page_table(&lens, p, num_pages, rng);
        let n_kv = num_pages * hkv * p * d;
        let (k_bytes, k) = random_values(element.kv_dtype(), n_kv, 1.0, rng);
        let (v_bytes, v) = random_values(element.kv_dtype(), n_kv, 1.0, rng);
        let batch = lens.len();
        let (q_bytes, q) = random_values(element.query_dtype(), batch * hq * d, 3.0, rng);
        Paged {
            element,
            batch,
            hq,
            hkv,
            d,
            p,
            num_pages,
            lens,
            indptr,
            indices,
            last_page_len,
            k,
            v,
            q,
            k_bytes,
            v_bytes,
            q_bytes,
        }
    }

    /// Random lengths in [0, max_len], with an empty request, an exactly full last page and a
    /// one-token request when the batch has room.
    pub fn lengths(batch: usize, max_len: usize, p: usize, rng: &mut Rng) -> Vec<usize> {
        let mut lens: Vec<usize> = (0..batch)
            .map(|_| rng.int(0, max_len as i64) as usize)
            .collect();
        if batch >= 3 {
            lens[0] = 0;
            lens[1] = (max_len / p).max(1) * p;
            lens[batch - 1] = 1;
        }
        lens
    }

    /// Page `page`, KV head `h`, slot `t`: the offset of its first element.
    pub fn slot(&self, page: usize, h: usize, t: usize) -> usize {
        ((page * self.hkv + h) * self.p + t) * self.d
    }

    /// The (page, slot) of token `t` of request `b`.
    pub fn token(&self, b: usize, t: usize) -> (usize, usize) {
        (
            self.indices[self.indptr[b] as usize + t / self.p] as usize,
            t % self.p,
        )
    }

    /// The cache bytes with every slot no request owns set to 0xFF (NaN in f16, bf16, f32 and
    /// the fp8 types), so a kernel that reads past a request's length fails the comparison.
    pub fn poisoned(&self, bytes: &[u8]) -> Vec<u8> {
        let es = self.element.kv_dtype().size();
        let mut out = vec![0xFFu8; bytes.len()];
        for b in 0..self.batch {
            for t in 0..self.lens[b] {
                let (page, slot) = self.token(b, t);
                for h in 0..self.hkv {
                    let at = self.slot(page, h, slot) * es;
                    out[at..at + self.d * es].copy_from_slice(&bytes[at..at + self.d * es]);
                }
            }
        }
        out
    }

    /// float64 decode of `batch` queries `q` ([batch, hq, d]), query `b` over the cache slots
    /// `tokens(b)` (page, slot): o [batch, hq, d] and base-2 lse [batch, hq] (0 and -inf for no
    /// token).
    pub fn attend(
        &self,
        sm_scale: f64,
        q: &[f64],
        batch: usize,
        tokens: impl Fn(usize) -> Vec<(usize, usize)>,
    ) -> (Vec<f64>, Vec<f64>) {
        let (hq, d, g) = (self.hq, self.d, self.hq / self.hkv);
        assert_eq!(q.len(), batch * hq * d);
        let mut o = vec![0.0; batch * hq * d];
        let mut lse = vec![f64::NEG_INFINITY; batch * hq];
        for b in 0..batch {
            let toks = tokens(b);
            if toks.is_empty() {
                continue;
            }
            for h in 0..hq {
                let qv = &q[(b * hq + h) * d..][..d];
                let scores: Vec<f64> = toks
                    .iter()
                    .map(|&(page, slot)| {
                        let kv = &self.k[self.slot(page, h / g, slot)..][..d];
                        sm_scale * qv.iter().zip(kv).map(|(a, b)| a * b).sum::<f64>()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let sum: f64 = w.iter().sum();
                let out = &mut o[(b * hq + h) * d..][..d];
                for (&(page, slot), wt) in toks.iter().zip(&w) {
                    let vv = &self.v[self.slot(page, h / g, slot)..][..d];
                    for (x, y) in out.iter_mut().zip(vv) {
                        *x += wt / sum * y;
                    }
                }
                lse[b * hq + h] = (m + sum.ln()) / std::f64::consts::LN_2;
            }
        }
        (o, lse)
    }

    /// float64 decode of every request over its own tokens.
    pub fn reference(&self, sm_scale: f64) -> (Vec<f64>, Vec<f64>) {
        self.attend(sm_scale, &self.q, self.batch, |b| self.tokens(b))
    }

    /// The (page, slot) of every token of request `b`, in order.
    pub fn tokens(&self, b: usize) -> Vec<(usize, usize)> {
        (0..self.lens[b]).map(|t| self.token(b, t)).collect()
    }

    pub fn upload_tables(&self) -> (DeviceBuffer<i32>, DeviceBuffer<i32>, DeviceBuffer<i32>) {
        let indices = if self.indices.is_empty() {
            vec![0]
        } else {
            self.indices.clone()
        };
        (
            DeviceBuffer::from_host(&indices),
            DeviceBuffer::from_host(&self.indptr),
            DeviceBuffer::from_host(&self.last_page_len),
        )
    }
}
