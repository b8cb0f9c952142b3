//! Runs the real `roambridge` binary of the test build.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `roambridge <args>` with `stdin` (if any) on standard input and returns its output.
///
/// A command that fails early (an unknown operation, a usage error) may exit without reading
/// its input: the pipe is then closed, which is not the test's concern, so only a broken pipe
/// is tolerated when writing it.
pub(crate) fn roambridge(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the roambridge binary starts");
    {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(Err(e)) = stdin.map(|input| pipe.write_all(input)) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child.wait_with_output().expect("roambridge runs")
}
