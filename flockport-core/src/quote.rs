//! The one quoting function: turns an argv into a POSIX shell command line.
//!
//! Architecture invariant: remote command lines are built only here. No other
//! code formats a user-supplied value into shell text; scripts that need a
//! value take it through [`quote_argv`] / [`quote`], usually as a positional
//! parameter of `sh -c 'SCRIPT' sh ARG...`.
//!
//! The escaping itself is `shlex::try_quote` (the maintained, post-CVE-2024-58266
//! version), wrapped so every caller gets the same NUL check and error.

use crate::error::{Error, Result};

/// Quotes one word for a POSIX shell. Refuses NUL bytes, which no shell word can hold.
pub fn quote(word: &str) -> Result<String> {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .map_err(|_| Error::invalid("command argument", word, "contains a NUL byte, which cannot be passed to a shell"))
}

/// Joins an argv into one shell command line, each word quoted.
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> Result<String> {
    let mut line = String::new();
    for (i, word) in argv.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&quote(word.as_ref())?);
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn word() -> impl Strategy<Value = String> {
        // Any non-NUL unicode, weighted towards shell metacharacters.
        prop_oneof!["[^\u{0}]{0,24}", "[ '\"`$\\\\;&|<>(){}\\[\\]*?!#~=%\n\t^-]{0,12}",]
    }

    proptest! {
        #[test]
        fn any_argv_survives_quoting(argv in proptest::collection::vec(word(), 0..6)) {
            let line = quote_argv(&argv).unwrap();
            let split = shlex::split(&line).unwrap();
            prop_assert_eq!(split, argv);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The real shell gives back the same argv (printf '%s\0' per word).
        #[test]
        fn real_sh_gives_back_the_argv(argv in proptest::collection::vec(word(), 1..5)) {
            let line = format!("printf '%s\\0' {}", quote_argv(&argv).unwrap());
            let out = std::process::Command::new("sh").arg("-c").arg(&line).output().unwrap();
            prop_assert!(out.status.success());
            let mut words: Vec<String> = out.stdout.split(|b| *b == 0).map(|w| String::from_utf8(w.to_vec()).unwrap()).collect();
            words.pop();
            prop_assert_eq!(words, argv);
        }
    }

    #[test]
    fn nul_is_refused() {
        let err = quote_argv(&["echo", "a\0b"]).unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn metacharacters_are_inert() {
        assert_eq!(quote("a b").unwrap(), "'a b'");
        let q = quote("$(rm -rf /)").unwrap();
        assert!(q.starts_with('\'') || q.starts_with('"'), "{q}");
    }
}
