//! Caller-owned device scratch memory for the plans that need it.
use crate::memory::DeviceSliceMut;

/// Device scratch memory for one run at a time (16-byte aligned, at least the plan's
/// `workspace_size()` bytes). Runs take it as `&mut`, so two calls on the host cannot hold it
/// at once; two *streams* must still not use one workspace concurrently (the kernels of the
/// first may still run when the second call returns): keep one per stream. Its contents need
/// no initialisation and carry nothing between runs.
///
/// ```
/// use baracuda_flashinfer::{DeviceSliceMut, Workspace};
///
/// // SAFETY: (in real code) a live, otherwise unused allocation of 1 MiB.
/// let memory = unsafe { DeviceSliceMut::<u8>::from_raw(0x7000_0000, 1 << 20) };
/// let mut workspace = Workspace::new(memory);
/// assert_eq!(workspace.bytes(), 1 << 20);
/// let _for_this_run = workspace.reborrow();
/// assert_eq!(Workspace::none().bytes(), 0);
/// ```
#[derive(Debug)]
pub struct Workspace<'a> {
    memory: Option<DeviceSliceMut<'a, u8>>,
}

impl<'a> Workspace<'a> {
    /// A workspace over these bytes.
    pub fn new(memory: DeviceSliceMut<'a, u8>) -> Self {
        Workspace {
            memory: Some(memory),
        }
    }

    /// No workspace: for plans whose `workspace_size()` is 0.
    pub fn none() -> Workspace<'static> {
        Workspace { memory: None }
    }

    /// Its size in bytes (0 for [`Workspace::none`]).
    pub fn bytes(&self) -> usize {
        self.memory.as_ref().map_or(0, |m| m.len())
    }

    /// Its device address (0 for [`Workspace::none`]).
    pub fn device_ptr(&self) -> u64 {
        self.memory.as_ref().map_or(0, |m| m.device_ptr())
    }

    /// A shorter-lived workspace over the same memory.
    pub fn reborrow(&mut self) -> Workspace<'_> {
        Workspace {
            memory: self.memory.as_mut().map(|m| m.reborrow()),
        }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut core::ffi::c_void {
        self.device_ptr() as usize as *mut core::ffi::c_void
    }
}

impl<'a> From<DeviceSliceMut<'a, u8>> for Workspace<'a> {
    fn from(memory: DeviceSliceMut<'a, u8>) -> Self {
        Workspace::new(memory)
    }
}
