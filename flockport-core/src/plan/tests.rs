//! Tests of plans: rendering, batching, execution.
use super::*;
use crate::transport::LocalTransport;

fn sh(server: &str, what: &str, script: &str, args: &[&str]) -> Step {
    let mut argv = vec!["sh".to_string(), "-c".into(), script.into(), "sh".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    Step::run(server, what, argv)
}

/// A batch through a real shell: each step reads exactly its own input,
/// the failing step is named with its own status and stderr, and nothing
/// after it runs.
#[tokio::test]
async fn a_batch_runs_in_one_shell_and_reports_the_failing_step() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let t = LocalTransport::new("local");
    let mut first = sh("local", "one", r#"cat > "$1/one""#, &[d]);
    first.action = Action::Run { argv: first.command().0, stdin: Some(Content::text("first input\n")) };
    let steps = [
        first,
        Step::write_file("local", "two", format!("{d}/sub/two"), 0o600, Content::secret(b"s3cret".to_vec())),
        sh("local", "no input", r#"cat > "$1/three"; echo "out of three""#, &[d]),
        sh("local", "fails", r#"echo partial; echo "it broke: $1" >&2; exit 3"#, &["x y"]),
        sh("local", "never", r#"touch "$1/never""#, &[d]),
    ];
    let refs: Vec<&Step> = steps.iter().collect();
    let e = run_batch(&t, &refs).await.unwrap_err();
    match &e {
        Error::RemoteCommand { server, command, status, stderr_tail } => {
            assert_eq!(server, "local");
            assert_eq!(*status, 3);
            assert_eq!(stderr_tail, "it broke: x y");
            assert!(command.starts_with("sh -c 'echo partial") && command.ends_with("sh 'x y'"), "{command}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("one")).unwrap(), "first input\n");
    assert_eq!(std::fs::read(dir.path().join("sub/two")).unwrap(), b"s3cret");
    assert_eq!(std::fs::read(dir.path().join("three")).unwrap(), b"", "a step without input reads nothing");
    assert!(!dir.path().join("never").exists());
    // The batch's argv carries no step's input (secrets travel on stdin only).
    let (script, stdin) = batch_script(&refs).unwrap();
    assert!(!script.contains("s3cret") && !script.contains("first input"));
    assert_eq!(stdin, b"first input\ns3cret");
    // A config check's failure is ConfigRejected with the checker's words.
    let check = [
        sh("local", "ok", "true", &[]),
        sh("local", "check", "echo 'line 3: unknown directive' >&2; exit 1", &[]).checks_config("nginx"),
    ];
    let refs: Vec<&Step> = check.iter().collect();
    let e = run_batch(&t, &refs).await.unwrap_err();
    assert!(
        matches!(&e, Error::ConfigRejected { service, detail, .. } if service == "nginx" && detail == "line 3: unknown directive"),
        "{e:?}"
    );
}

#[test]
fn outputs_split_by_marker() {
    let text = b"\n\x01flockport-step 0\nA\nB\n\n\x01flockport-step 1\nC\n\x01flockport-step failed 1 7\n";
    let (parts, failed) = split_marked(text);
    assert_eq!(parts[&0], b"A\nB\n");
    assert_eq!(parts[&1], b"C");
    assert_eq!(failed, Some((1, 7)));
}

#[test]
fn secrets_are_never_shown() {
    let st = Step::write_file("s1", "password", "/etc/pw", 0o600, Content::secret(b"hunter2".to_vec()));
    let json = serde_json::to_string(&st).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    assert!(json.contains("<secret, 7 bytes>"));
    assert!(!st.render().contains("hunter2"));
    assert!(!format!("{st:?}").contains("hunter2"));
}

/// `gather` through a real shell: every command runs although one fails,
/// and each gets exactly its own stdout, stderr and status.
#[tokio::test]
async fn gather_runs_every_command_with_its_own_output_and_status() {
    let t = LocalTransport::new("local");
    let cmd = |script: &str| vec!["sh".to_string(), "-c".into(), script.into()];
    let outs = gather(
        &t,
        &[
            cmd("echo one; echo err-one >&2"),
            cmd("echo two; echo err-two >&2; exit 3"),
            cmd("printf 'three\\nlines\\n'"),
            // A command's own marker-like line is its output, not a status.
            cmd("echo 'flockport-step status 4 0' >&2; printf '  keep \\\\ this'"),
            cmd("sleep 30"),
        ],
        std::time::Duration::from_secs(1),
    )
    .await
    .unwrap();
    assert_eq!(outs.len(), 5);
    assert_eq!(outs[3].status, 0);
    assert_eq!(outs[3].stdout_str(), "  keep \\ this\n", "spaces and a backslash kept, a newline added");
    assert_eq!(outs[4].status, 124, "stopped by its time limit");
    assert_eq!(
        (outs[0].status, outs[0].stdout_str().as_str(), outs[0].stderr.as_slice()),
        (0, "one\n", &b"err-one\n"[..])
    );
    assert_eq!(
        (outs[1].status, outs[1].stdout_str().as_str(), outs[1].stderr.as_slice()),
        (3, "two\n", &b"err-two\n"[..])
    );
    assert_eq!((outs[2].status, outs[2].stdout_str().as_str()), (0, "three\nlines\n"));
}
