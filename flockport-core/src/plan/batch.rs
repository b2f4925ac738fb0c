//! One round trip per server: the script that runs a plan's consecutive
//! steps (stopping at the first failure), the split of its output back into
//! the steps', and [`gather`], which runs read-only commands the same way
//! but every one of them, each with its own status.

use super::Step;
use crate::error::Result;
use crate::quote::quote_argv;
use crate::transport::{Output, Transport};
use std::collections::BTreeMap;

/// Splits one server's steps into round trips: consecutive steps together,
/// a step marked [`Step::alone`] by itself, a round trip ending after a step
/// marked [`Step::then_break`].
pub(super) fn batches<'a>(steps: &[(usize, &'a Step)]) -> Vec<Vec<(usize, &'a Step)>> {
    let mut out: Vec<Vec<(usize, &'a Step)>> = Vec::new();
    let mut cur = Vec::new();
    for &(i, st) in steps {
        if st.alone {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(vec![(i, st)]);
        } else {
            cur.push((i, st));
            if st.break_after {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The marker that opens each step's part of a batch's stdout and stderr.
const MARK: &str = "\u{1}flockport-step ";

/// One script that runs `steps` in order and stops at the first failure.
/// Every command line comes from [`quote_argv`]; each step reads exactly its
/// own standard input (`dd` of its byte count from the batch's stdin, which
/// carries every step's input in order; a step without input reads
/// /dev/null). Before each step a marker line goes to stdout and stderr, and
/// a failed step's exit status follows its marker on stderr, so the output of
/// each step and which one failed are known afterwards.
pub fn batch_script(steps: &[&Step]) -> Result<(String, Vec<u8>)> {
    let mut script = String::from(
        "m() { printf '\\n\\001flockport-step %s\\n' \"$1\"; printf '\\n\\001flockport-step %s\\n' \"$1\" >&2; }\n",
    );
    let mut stdin = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        let (argv, input) = st.command();
        let line = quote_argv(&argv)?;
        script.push_str(&format!("m {i}\n"));
        match input {
            Some(c) if !c.bytes().is_empty() => {
                let n = c.bytes().len();
                script.push_str(&format!("dd bs={n} count=1 iflag=fullblock status=none | {line}\n"));
                stdin.extend_from_slice(c.bytes());
            }
            _ => script.push_str(&format!("{line} </dev/null\n")),
        }
        script.push_str(&format!(
            "r=$?; if [ \"$r\" -ne 0 ]; then printf '\\n\\001flockport-step failed {i} %s\\n' \"$r\" >&2; exit \"$r\"; fi\n"
        ));
    }
    Ok((script, stdin))
}

/// Each step's part of a batch's output, by index.
type Parts = BTreeMap<usize, Vec<u8>>;

/// Splits a batch's output into the parts each step wrote, by index; the
/// failed step's index and status when one failed.
pub(super) fn split_marked(bytes: &[u8]) -> (Parts, Option<(usize, i32)>) {
    let mut parts: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut failed = None;
    let text = bytes;
    let mark = MARK.as_bytes();
    let mut cur: Option<usize> = None;
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let at_line_start = pos == 0 || text[pos - 1] == b'\n';
        if at_line_start && rest.starts_with(mark) {
            let line_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let line = String::from_utf8_lossy(&rest[mark.len()..line_end]).into_owned();
            // The newline printed before the marker belongs to no step.
            if let Some(prev) = cur.and_then(|c| parts.get_mut(&c)) {
                if prev.last() == Some(&b'\n') {
                    prev.pop();
                }
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["failed", i, rc] => {
                    if let (Ok(i), Ok(rc)) = (i.parse(), rc.parse()) {
                        failed = Some((i, rc));
                    }
                }
                [i] => cur = i.parse().ok(),
                _ => {}
            }
            if let Some(c) = cur {
                parts.entry(c).or_default();
            }
            pos += line_end + 1;
            continue;
        }
        let next = rest.iter().position(|b| *b == b'\n').map_or(rest.len(), |n| n + 1);
        if let Some(c) = cur {
            parts.entry(c).or_default().extend_from_slice(&rest[..next]);
        }
        pos += next;
    }
    (parts, failed)
}

/// Runs `steps` on one server in one round trip (a single step as itself).
pub(super) async fn run_batch(t: &dyn Transport, steps: &[&Step]) -> Result<()> {
    match steps {
        [] => Ok(()),
        [one] => one.execute(t).await,
        _ => {
            let (script, stdin) = batch_script(steps)?;
            let argv = vec!["sh".to_string(), "-c".to_string(), script];
            let out = t.exec(argv.clone(), if stdin.is_empty() { None } else { Some(stdin) }).await?;
            if out.status == 0 {
                return Ok(());
            }
            let (outs, _) = split_marked(&out.stdout);
            // The failure marker is printed on stderr only.
            let (errs, failed) = split_marked(&out.stderr);
            // Without a failure marker the script itself broke: blame the last step that started.
            let (i, status) = failed.unwrap_or_else(|| (errs.keys().last().copied().unwrap_or(0), out.status));
            let Some(step) = steps.get(i) else {
                return out.check(t.server(), &argv).map(|_| ());
            };
            let part = Output {
                status,
                stdout: outs.get(&i).cloned().unwrap_or_default(),
                stderr: errs.get(&i).cloned().unwrap_or_default(),
            };
            let (step_argv, _) = step.command();
            step.judge(t.server(), &step_argv, part)
        }
    }
}

/// The marker line, on stderr, that carries a gathered command's status.
const STATUS: &str = "status";

/// Runs read-only `commands` on one server in ONE round trip, all at once
/// (each in the background, its output to a file of a private temporary
/// directory, then printed in order with the step markers by shell
/// builtins: a status read forks as little as it can, since on a busy
/// server every process counts; outputs are text, a last line without its
/// newline gets one), every one of
/// them whatever the others did (each reads /dev/null), and returns each
/// one's own output and status, in order. So the round trip lasts as long as
/// the slowest command, not their sum. The round trip itself failing
/// (unreachable server, timeout) is the error; a command's non-zero exit is
/// its [`Output::status`], for its caller to judge.
///
/// Each command is stopped after `each` (`timeout -k 1`, status 124), so a
/// hung one costs its own answer, not the round trip; a round trip cut
/// short (the caller's limit, a lost connection) removes the directory too.
pub async fn gather(t: &dyn Transport, commands: &[Vec<String>], each: std::time::Duration) -> Result<Vec<Output>> {
    let mut script = String::from(
        "m() { printf '\\n\\001flockport-step %s\\n' \"$1\"; printf '\\n\\001flockport-step %s\\n' \"$1\" >&2; }\n\
         p() { while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"$l\"; done <\"$1\"; }\n\
         d=$(mktemp -d) || exit 125\ntrap 'rm -rf \"$d\"' EXIT\ntrap 'exit 129' HUP PIPE TERM\n",
    );
    for (i, argv) in commands.iter().enumerate() {
        let line = quote_argv(argv)?;
        let secs = each.as_secs().max(1);
        script.push_str(&format!(
            ": gather {i}\n{{ timeout -k 1 {secs} {line} </dev/null >\"$d/{i}\" 2>\"$d/{i}e\"; echo $? >\"$d/{i}s\"; }} &\n"
        ));
    }
    script.push_str("wait\n");
    for i in 0..commands.len() {
        script.push_str(&format!(
            "m {i}; p \"$d/{i}\"; p \"$d/{i}e\" >&2; s=; read -r s 2>/dev/null <\"$d/{i}s\"; printf '\\n\\001flockport-step {STATUS} {i} %s\\n' \"$s\" >&2\n"
        ));
    }
    let out = t.exec(vec!["sh".into(), "-c".into(), script], None).await?;
    let (outs, _) = split_marked(&out.stdout);
    let (errs, _) = split_marked(&out.stderr);
    let mut statuses: BTreeMap<usize, i32> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        // Only the script's own lines (they start with \001), not a command's.
        let Some(line) = line.strip_prefix('\u{1}') else { continue };
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["flockport-step", STATUS, i, rc] = words.as_slice() {
            if let (Ok(i), Ok(rc)) = (i.parse(), rc.parse()) {
                statuses.insert(i, rc);
            }
        }
    }
    Ok((0..commands.len())
        .map(|i| {
            Output {
                // A command the script never reached (the shell died) failed.
                status: statuses.get(&i).copied().unwrap_or(-1),
                stdout: outs.get(&i).cloned().unwrap_or_default(),
                stderr: errs.get(&i).cloned().unwrap_or_default(),
            }
        })
        .collect())
}
