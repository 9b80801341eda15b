//! The few CUDA runtime calls the GPU tests and the example make (allocation, copies, streams,
//! graph capture), declared here against libcudart: the crate itself depends on no CUDA crate,
//! and neither do its tests. Also the owner type the tests and the example build views from.
#![allow(dead_code)]

use std::ffi::{c_void, CStr};
use std::marker::PhantomData;

use baracuda_flashinfer::{DeviceAllocation, DeviceRepr, DeviceSlice, DeviceSliceMut, Stream};

type CudaError = i32;
const MEMCPY_HOST_TO_DEVICE: i32 = 1;
const MEMCPY_DEVICE_TO_HOST: i32 = 2;
const STREAM_NON_BLOCKING: u32 = 1;
const CAPTURE_MODE_GLOBAL: i32 = 0;
const ATTR_COMPUTE_CAPABILITY_MAJOR: i32 = 75;
const ATTR_COMPUTE_CAPABILITY_MINOR: i32 = 76;

#[link(name = "cudart")]
extern "C" {
    fn cudaGetDeviceCount(count: *mut i32) -> CudaError;
    fn cudaSetDevice(device: i32) -> CudaError;
    fn cudaDeviceGetAttribute(value: *mut i32, attr: i32, device: i32) -> CudaError;
    fn cudaDeviceSynchronize() -> CudaError;
    fn cudaGetErrorString(error: CudaError) -> *const std::ffi::c_char;
    fn cudaMalloc(ptr: *mut *mut c_void, bytes: usize) -> CudaError;
    fn cudaFree(ptr: *mut c_void) -> CudaError;
    fn cudaMemcpy(dst: *mut c_void, src: *const c_void, bytes: usize, kind: i32) -> CudaError;
    fn cudaMemset(ptr: *mut c_void, value: i32, bytes: usize) -> CudaError;
    fn cudaStreamCreateWithFlags(stream: *mut *mut c_void, flags: u32) -> CudaError;
    fn cudaStreamDestroy(stream: *mut c_void) -> CudaError;
    fn cudaStreamSynchronize(stream: *mut c_void) -> CudaError;
    fn cudaStreamBeginCapture(stream: *mut c_void, mode: i32) -> CudaError;
    fn cudaStreamEndCapture(stream: *mut c_void, graph: *mut *mut c_void) -> CudaError;
    fn cudaGraphInstantiate(exec: *mut *mut c_void, graph: *mut c_void, flags: u64) -> CudaError;
    fn cudaGraphLaunch(exec: *mut c_void, stream: *mut c_void) -> CudaError;
    fn cudaGraphExecDestroy(exec: *mut c_void) -> CudaError;
    fn cudaGraphDestroy(graph: *mut c_void) -> CudaError;
}

#[track_caller]
fn check(code: CudaError, what: &str) {
    if code != 0 {
        // SAFETY: cudaGetErrorString returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(cudaGetErrorString(code)) };
        panic!(
            "{what} failed: CUDA error {code} ({})",
            text.to_string_lossy()
        );
    }
}

/// The number of CUDA devices (0 when the runtime finds none or no driver).
pub fn device_count() -> i32 {
    let mut count = 0;
    // SAFETY: a valid out-pointer.
    let code = unsafe { cudaGetDeviceCount(&mut count) };
    if code == 0 {
        count
    } else {
        0
    }
}

/// Makes device 0 current, or panics saying that a GPU is needed. The GPU tests are
/// `#[ignore]`d by default (a host reports them as ignored), so only `--ignored` /
/// `--include-ignored` runs reach this.
pub fn require_gpu() {
    assert!(
        device_count() > 0,
        "a CUDA GPU is needed and cudaGetDeviceCount finds none (no device or no driver)"
    );
    // SAFETY: device 0 exists.
    check(unsafe { cudaSetDevice(0) }, "cudaSetDevice(0)");
}

/// (major, minor) compute capability of device 0.
pub fn compute_capability() -> (i32, i32) {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: valid out-pointers.
    unsafe {
        check(
            cudaDeviceGetAttribute(&mut major, ATTR_COMPUTE_CAPABILITY_MAJOR, 0),
            "cc major",
        );
        check(
            cudaDeviceGetAttribute(&mut minor, ATTR_COMPUTE_CAPABILITY_MINOR, 0),
            "cc minor",
        );
    }
    (major, minor)
}

pub fn synchronize() {
    // SAFETY: no arguments.
    check(unsafe { cudaDeviceSynchronize() }, "cudaDeviceSynchronize");
}

/// A cudaMalloc'ed array of `len` elements of `T` (at least 256 bytes, so even an empty one has a
/// valid, aligned address), freed on drop.
pub struct DeviceBuffer<T> {
    ptr: *mut c_void,
    len: usize,
    _elem: PhantomData<T>,
}

impl<T: DeviceRepr> DeviceBuffer<T> {
    /// Uninitialised.
    pub fn new(len: usize) -> Self {
        let mut ptr = std::ptr::null_mut();
        let bytes = (len * std::mem::size_of::<T>()).max(256);
        // SAFETY: a valid out-pointer.
        check(unsafe { cudaMalloc(&mut ptr, bytes) }, "cudaMalloc");
        DeviceBuffer {
            ptr,
            len,
            _elem: PhantomData,
        }
    }

    pub fn from_host(values: &[T]) -> Self {
        let mut b = DeviceBuffer::new(values.len());
        b.upload(values);
        b
    }

    /// Every byte set to `byte` (0xFF: NaN in f16, bf16 and f32, -1 in i32).
    pub fn filled(len: usize, byte: u8) -> Self {
        let mut b = DeviceBuffer::new(len);
        b.fill(byte);
        b
    }

    pub fn fill(&mut self, byte: u8) {
        synchronize();
        let bytes = self.len * std::mem::size_of::<T>();
        // SAFETY: within the allocation.
        check(
            unsafe { cudaMemset(self.ptr, i32::from(byte), bytes) },
            "cudaMemset",
        );
    }

    /// Copies `values` in, after all work on the device has finished.
    pub fn upload(&mut self, values: &[T]) {
        assert_eq!(
            values.len(),
            self.len,
            "upload of {} into {}",
            values.len(),
            self.len
        );
        synchronize();
        let bytes = std::mem::size_of_val(values);
        // SAFETY: both ranges are `bytes` long.
        let code = unsafe {
            cudaMemcpy(
                self.ptr,
                values.as_ptr().cast(),
                bytes,
                MEMCPY_HOST_TO_DEVICE,
            )
        };
        check(code, "cudaMemcpy to the device");
    }

    /// The contents, after all work on the device has finished.
    pub fn to_host(&self) -> Vec<T>
    where
        T: Default + Clone,
    {
        synchronize();
        let mut out = vec![T::default(); self.len];
        let bytes = self.len * std::mem::size_of::<T>();
        // SAFETY: both ranges are `bytes` long.
        let code = unsafe {
            cudaMemcpy(
                out.as_mut_ptr().cast(),
                self.ptr,
                bytes,
                MEMCPY_DEVICE_TO_HOST,
            )
        };
        check(code, "cudaMemcpy to the host");
        out
    }

    pub fn slice(&self) -> DeviceSlice<'_, T> {
        DeviceSlice::of(self)
    }

    pub fn slice_mut(&mut self) -> DeviceSliceMut<'_, T> {
        DeviceSliceMut::of(self)
    }
}

// SAFETY: the allocation lives until drop and holds `len` elements; `&mut self` is the only way
// to a writable view.
unsafe impl<T: DeviceRepr> DeviceAllocation for DeviceBuffer<T> {
    type Elem = T;
    fn device_ptr(&self) -> u64 {
        self.ptr as u64
    }
    fn len(&self) -> usize {
        self.len
    }
}

impl<T> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by cudaMalloc; cudaFree waits for the device to finish with it.
        unsafe { cudaFree(self.ptr) };
    }
}

/// A created, non-blocking CUDA stream (graph capture needs one).
pub struct CudaStream {
    raw: *mut c_void,
}

impl CudaStream {
    pub fn new() -> Self {
        let mut raw = std::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        check(
            unsafe { cudaStreamCreateWithFlags(&mut raw, STREAM_NON_BLOCKING) },
            "cudaStreamCreateWithFlags",
        );
        CudaStream { raw }
    }

    pub fn stream(&self) -> Stream<'_> {
        // SAFETY: a live stream of the current device, for as long as `self` is borrowed.
        unsafe { Stream::from_raw(self.raw) }.expect("a created stream is never NULL")
    }

    pub fn synchronize(&self) {
        // SAFETY: a live stream.
        check(
            unsafe { cudaStreamSynchronize(self.raw) },
            "cudaStreamSynchronize",
        );
    }

    /// Captures what `enqueue` puts on this stream into an instantiated graph. Run the work once
    /// before (as an engine's warm-up step does): first calls set kernel attributes.
    pub fn capture(&self, enqueue: impl FnOnce(Stream<'_>)) -> Graph {
        // SAFETY: a live stream, not capturing.
        check(
            unsafe { cudaStreamBeginCapture(self.raw, CAPTURE_MODE_GLOBAL) },
            "cudaStreamBeginCapture",
        );
        enqueue(self.stream());
        let (mut graph, mut exec) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the capture begun above; valid out-pointers.
        unsafe {
            check(
                cudaStreamEndCapture(self.raw, &mut graph),
                "cudaStreamEndCapture",
            );
            check(
                cudaGraphInstantiate(&mut exec, graph, 0),
                "cudaGraphInstantiate",
            );
        }
        Graph { graph, exec }
    }

    pub fn launch(&self, graph: &Graph) {
        // SAFETY: an instantiated graph and a live stream.
        check(
            unsafe { cudaGraphLaunch(graph.exec, self.raw) },
            "cudaGraphLaunch",
        );
    }
}

impl Drop for CudaStream {
    fn drop(&mut self) {
        // SAFETY: created by cudaStreamCreateWithFlags.
        unsafe { cudaStreamDestroy(self.raw) };
    }
}

/// An instantiated CUDA graph.
pub struct Graph {
    graph: *mut c_void,
    exec: *mut c_void,
}

impl Drop for Graph {
    fn drop(&mut self) {
        // SAFETY: created by cudaStreamEndCapture / cudaGraphInstantiate.
        unsafe {
            cudaGraphExecDestroy(self.exec);
            cudaGraphDestroy(self.graph);
        }
    }
}
