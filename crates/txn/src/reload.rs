//! Run the reload command (default `postfix reload`): argv only, no shell, with a timeout.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::report::ReloadReport;

/// The default reload command.
pub const DEFAULT_RELOAD_COMMAND: &[&str] = &["postfix", "reload"];

/// How long `commit`/`restore` let the reload command run before killing it.
pub const DEFAULT_RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Split a `--reload-command` string on whitespace (no shell, no quoting).
pub fn split_reload_command(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_string).collect()
}

/// Run `argv` and wait at most `timeout`. `ok` is true only for exit status 0 in time.
/// stdout and stderr are captured (stdout first), trimmed.
pub fn run_reload(argv: &[String], timeout: Duration) -> ReloadReport {
    let command = argv.join(" ");
    let fail = |output: String| ReloadReport {
        command: command.clone(),
        ok: false,
        output,
    };
    let Some((prog, args)) = argv.split_first() else {
        return fail("empty reload command".to_string());
    };
    let mut child = match Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot run {prog}: {e}")),
    };
    // Drain both pipes in threads so a chatty command cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if start.elapsed() >= timeout => {
                // Our own child: kill it and reap it.
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("timed out after {}s", timeout.as_secs_f64()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => break Err(format!("wait failed: {e}")),
        }
    };
    // A grandchild holding the pipes open could block the readers; after a timeout we do not
    // wait for them.
    let mut text = String::new();
    if status.is_ok() {
        for h in [out, err] {
            if let Ok(bytes) = h.join() {
                let s = String::from_utf8_lossy(&bytes);
                let s = s.trim();
                if !s.is_empty() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(s);
                }
            }
        }
    }
    match status {
        Ok(st) if st.success() => ReloadReport {
            command,
            ok: true,
            output: text,
        },
        Ok(st) => {
            let why = match st.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            };
            fail(if text.is_empty() {
                why
            } else {
                format!("{text}\n({why})")
            })
        }
        Err(why) => fail(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        split_reload_command(s)
    }

    #[test]
    fn success_captures_output() {
        let r = run_reload(&argv("sh -c  echo"), Duration::from_secs(10));
        assert!(r.ok, "{r:?}");
        let r = run_reload(
            &["sh".into(), "-c".into(), "echo out; echo err >&2".into()],
            Duration::from_secs(10),
        );
        assert!(r.ok);
        assert_eq!(r.output, "out\nerr");
    }

    #[test]
    fn failure_and_missing_and_timeout() {
        let r = run_reload(&argv("false"), Duration::from_secs(10));
        assert!(!r.ok);
        assert!(r.output.contains("exit status 1"), "{}", r.output);
        let r = run_reload(&argv("/nonexistent/pftls-reload"), Duration::from_secs(10));
        assert!(!r.ok);
        assert!(r.output.contains("cannot run"), "{}", r.output);
        let t = Instant::now();
        let r = run_reload(&argv("sleep 5"), Duration::from_millis(200));
        assert!(!r.ok);
        assert!(r.output.contains("timed out"), "{}", r.output);
        assert!(t.elapsed() < Duration::from_secs(4));
        assert!(run_reload(&[], Duration::from_secs(1))
            .output
            .contains("empty"));
    }
}
