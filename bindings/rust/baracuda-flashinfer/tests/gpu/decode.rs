//! Decode of every element on every path, and a CUDA graph captured around a decode step and
//! replayed while the page table and the lengths change.
use baracuda_flashinfer::{
    DecodeArgs, DecodeDesc, DecodeKernel, DecodePlan, Element, PageTable, Stream, TensorRef,
    Workspace,
};

use crate::common::{lse_tolerance, max_error, o_tolerance, page_table, Paged, Rng};
use crate::cuda::{require_gpu, CudaStream, DeviceBuffer};
use crate::{f32_values, out_view, poisoned_output, values, DevicePaged, NEEDS_GPU};

/// Runs `plan` on `p` (outputs and workspace NaN-poisoned first) and compares o and lse with
/// the float64 reference.
fn check_decode(plan: &DecodePlan, p: &Paged, label: &str) {
    let dev = DevicePaged::new(p);
    let qt = p.element.query_dtype();
    let mut o = poisoned_output(qt, p.batch * p.hq * p.d);
    let mut lse = DeviceBuffer::<f32>::filled(p.batch * p.hq, 0xFF);
    let mut ws = DeviceBuffer::<u8>::filled(plan.workspace_size(), 0xFF);
    let stream = CudaStream::new();
    plan.run(
        stream.stream(),
        DecodeArgs {
            q: dev.q(p),
            k_cache: dev.k_cache(p),
            v_cache: dev.v_cache(p),
            pages: dev.pages(),
            o: out_view(&mut o, qt, [p.batch, p.hq, p.d]),
            lse: Some(lse.slice_mut().tensor([p.batch, p.hq])),
            sinks: None,
        },
        &mut Workspace::new(ws.slice_mut()),
    )
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    stream.synchronize();
    let (ref_o, ref_lse) = p.reference(f64::from(plan.sm_scale()));
    let o_err = max_error(&values(&o, qt), &ref_o, false);
    let lse_err = max_error(&f32_values(&lse), &ref_lse, true);
    println!("{label}: max |o - ref| {o_err:.2e}, max lse rel err {lse_err:.2e}");
    assert!(
        o_err <= o_tolerance(qt),
        "{label}: max |o - ref| = {o_err} > {}",
        o_tolerance(qt)
    );
    assert!(
        lse_err <= lse_tolerance(qt),
        "{label}: lse error {lse_err} > {}",
        lse_tolerance(qt)
    );
}

fn desc(p: &Paged, kernel: DecodeKernel, split_kv: bool) -> DecodeDesc {
    DecodeDesc {
        batch_size: p.batch,
        num_qo_heads: p.hq,
        num_kv_heads: p.hkv,
        head_dim: p.d,
        page_size: p.p,
        element: p.element,
        kernel,
        split_kv,
        ..DecodeDesc::default()
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn decode_every_element_and_path_matches_f64() {
    let _ = NEEDS_GPU;
    require_gpu();
    let mut rng = Rng::new(0xDEC0DE);
    // (Hq, Hkv, D, P): GQA group 4 (tensor cores by default but for f32), MHA at D = 64,
    // group 8 at D = 256.
    let shapes = [[8, 2, 128, 16], [4, 4, 64, 7], [8, 1, 256, 16]];
    for element in Element::ALL {
        for (i, shape) in shapes.iter().enumerate() {
            if i > 0 && element != Element::F16 && element != Element::Bf16KvE4m3 {
                continue; // the other shapes for two elements suffice
            }
            // 7 requests with long contexts: few CTAs, so split-KV engages.
            let lens = Paged::lengths(7, 600, shape[3], &mut rng);
            let p = Paged::new(element, *shape, lens, 3, &mut rng);
            let tensor_cores = element != Element::F32;
            let mut paths = vec![
                (DecodeKernel::Auto, true),
                (DecodeKernel::Auto, false),
                (DecodeKernel::CudaCores, true),
                (DecodeKernel::CudaCores, false),
            ];
            if tensor_cores {
                paths.push((DecodeKernel::TensorCores, true));
                paths.push((DecodeKernel::TensorCores, false));
            }
            for (kernel, split) in paths {
                let plan = DecodePlan::new(&desc(&p, kernel, split)).unwrap();
                let label = format!("{element} {shape:?} {kernel:?} split_kv={split}");
                check_decode(&plan, &p, &label);
            }
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU: run with --ignored on one"]
fn decode_graph_replays_with_changed_lengths() {
    require_gpu();
    let mut rng = Rng::new(0x6EA9);
    let (batch, p_size) = (6, 16);
    let mut lens = Paged::lengths(batch, 500, p_size, &mut rng);
    // Spare pages for the later, longer phases (up to 6 * 900 tokens).
    let mut p = Paged::new(
        Element::Bf16,
        [8, 2, 128, p_size],
        lens.clone(),
        350,
        &mut rng,
    );
    let plan = DecodePlan::new(&desc(&p, DecodeKernel::Auto, true)).unwrap();
    let qt = p.element.query_dtype();
    let kt = p.element.kv_dtype();
    let (hq, d) = (p.hq, p.d);
    let cache = [p.num_pages, p.hkv, p_size, d];
    // Fixed buffers (a graph replays their addresses): the page ids at full capacity.
    let mut dev = DevicePaged::new(&p);
    let mut indices = DeviceBuffer::<i32>::new(p.num_pages);
    let mut o = poisoned_output(qt, batch * p.hq * p.d);
    let mut lse = DeviceBuffer::<f32>::filled(batch * p.hq, 0xFF);
    let mut ws = DeviceBuffer::<u8>::new(plan.workspace_size());
    let stream = CudaStream::new();

    let upload = |p: &Paged, dev: &mut DevicePaged, indices: &mut DeviceBuffer<i32>| {
        let mut ids = p.indices.clone();
        ids.resize(p.num_pages, 0);
        indices.upload(&ids);
        dev.indptr.upload(&p.indptr);
        dev.last_page_len.upload(&p.last_page_len);
        dev.k.upload(&p.poisoned(&p.k_bytes));
        dev.v.upload(&p.poisoned(&p.v_bytes));
    };
    upload(&p, &mut dev, &mut indices);
    // SAFETY: every phase below keeps the page ids within the cache and indptr and the lengths
    // valid before the graph is replayed.
    let run = |s: Stream<'_>,
               dev: &DevicePaged,
               indices: &DeviceBuffer<i32>,
               o: &mut DeviceBuffer<u8>,
               lse: &mut DeviceBuffer<f32>,
               ws: &mut DeviceBuffer<u8>| unsafe {
        let pages = PageTable::new(
            indices.slice(),
            dev.indptr.slice(),
            dev.last_page_len.slice(),
        );
        let args = DecodeArgs {
            q: TensorRef::from_bytes(dev.q.slice(), qt, [batch, hq, d]),
            k_cache: TensorRef::from_bytes(dev.k.slice(), kt, cache),
            v_cache: TensorRef::from_bytes(dev.v.slice(), kt, cache),
            pages,
            o: out_view(o, qt, [batch, hq, d]),
            lse: Some(lse.slice_mut().tensor([batch, hq])),
            sinks: None,
        };
        plan.run(s, args, &mut Workspace::new(ws.slice_mut()))
            .unwrap()
    };
    // A warm-up run (first calls set kernel attributes), then the capture.
    run(stream.stream(), &dev, &indices, &mut o, &mut lse, &mut ws);
    stream.synchronize();
    let graph = stream.capture(|s| run(s, &dev, &indices, &mut o, &mut lse, &mut ws));
    for phase in 0..4 {
        if phase > 0 {
            // New lengths (longer, shorter, empty) and a new page assignment, same buffers.
            lens = (0..batch).map(|_| rng.int(0, 900) as usize).collect();
            lens[phase] = 0;
            let (indptr, ids, lpl) = page_table(&lens, p_size, p.num_pages, &mut rng);
            p.lens = lens.clone();
            p.indptr = indptr;
            p.indices = ids;
            p.last_page_len = lpl;
            upload(&p, &mut dev, &mut indices);
        }
        o.fill(0xFF);
        lse.fill(0xFF);
        stream.launch(&graph);
        stream.synchronize();
        let (ref_o, ref_lse) = p.reference(f64::from(plan.sm_scale()));
        let o_err = max_error(&values(&o, qt), &ref_o, false);
        let lse_err = max_error(&f32_values(&lse), &ref_lse, true);
        println!("graph replay {phase} lens {lens:?}: o err {o_err:.2e}, lse err {lse_err:.2e}");
        assert!(
            o_err <= o_tolerance(qt),
            "replay {phase}: max |o - ref| = {o_err}"
        );
        assert!(
            lse_err <= lse_tolerance(qt),
            "replay {phase}: lse error {lse_err}"
        );
    }
}
