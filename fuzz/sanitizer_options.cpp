// Sanitizer defaults of the fuzz executables (an ASAN_OPTIONS / UBSAN_OPTIONS setting wins).
extern "C" const char* __asan_default_options() {
  // CUDA's driver maps memory in ASan's shadow gap; harmless where no driver is loaded.
  return "protect_shadow_gap=0:detect_leaks=1";
}
// Undefined behaviour in the library's host code is a crash, except what the known-bug list
// tolerates (ubsan.supp).
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" BFI_FUZZ_UBSAN_SUPPRESSIONS;
}
