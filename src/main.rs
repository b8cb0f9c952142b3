//! The `roambridge` binary: everything lives in the library.
//!
//! The global allocator is mimalloc: `translate` of a large EVSE data dump allocates a few
//! dozen short strings per record on the parsing threads and frees many of them on the grouping
//! thread, where glibc's malloc and free took about a fifth of all instructions (issue 6,
//! README "Figures"). The library itself does not choose an allocator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    roambridge::cli::main()
}
