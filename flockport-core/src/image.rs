//! Images: a template container per server, built once from a release and a
//! package list with `lxc-create`, then cloned for every service container.
//!
//! The template's name carries a hash of how it was built (template, its
//! arguments, packages), so a changed recipe makes a new image and an existing
//! one is reused as it is.

use crate::error::Result;
use crate::inventory::ServerConfig;
use crate::lxc::{self, ServerFacts, IMAGE_COMPLETE, IMAGE_PREFIX};
use crate::names;
use crate::plan::{Content, Step};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What goes into an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ImageSpec {
    /// A short label for the name, e.g. `base`, `haproxy`.
    pub label: String,
    /// Debian packages installed in it.
    pub packages: Vec<String>,
}

/// The network config every image gets: LXC sets the static address, so no
/// DHCP client runs (and waits) in the container.
pub const INTERFACES: &str = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n";

impl ImageSpec {
    /// An image with `packages`, labelled by the first package (or `base`).
    pub fn with_packages(packages: Vec<String>) -> Result<Self> {
        for p in &packages {
            names::check_package(p)?;
        }
        let mut packages = packages;
        packages.sort();
        packages.dedup();
        let label = packages.first().cloned().unwrap_or_else(|| "base".into());
        Ok(ImageSpec { label, packages })
    }

    /// The template container's name on `server`.
    pub fn template_name(&self, server: &ServerConfig) -> String {
        let mut h = Sha256::new();
        h.update(server.image.template.as_bytes());
        for a in &server.image.args {
            h.update(b"\0");
            h.update(a.as_bytes());
        }
        h.update(b"\x01");
        for p in &self.packages {
            h.update(p.as_bytes());
            h.update(b"\0");
        }
        let digest = hex::encode(h.finalize());
        let label: String = self.label.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
        format!("{IMAGE_PREFIX}{label}-{}", &digest[..8])
    }

    /// Steps that build the image on `server` (the caller checks it is absent).
    pub fn build_steps(&self, server: &ServerConfig) -> Vec<Step> {
        let name = self.template_name(server);
        let p = &server.lxcpath;
        let tpl = &server.image.template;
        let mut argv = vec![
            "lxc-create".to_string(),
            "-P".into(),
            p.clone(),
            "-n".into(),
            name.clone(),
            "-t".into(),
            tpl.clone(),
            "--".into(),
        ];
        argv.extend(server.image.args.iter().cloned());
        let debian = tpl == "debian";
        if debian && !self.packages.is_empty() {
            argv.push(format!("--packages={}", self.packages.join(",")));
        }
        let mut steps = vec![Step::run(
            &server.name,
            format!("build image {name} with lxc-create -t {tpl} (packages: {})", display_packages(&self.packages)),
            argv,
        )
        .alone()];
        if !debian && !self.packages.is_empty() {
            // Templates without --packages: install inside the running template.
            steps.extend(lxc::start_steps(server, &name));
            let script = "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q \"$@\"";
            let mut inner = vec!["sh".to_string(), "-c".into(), script.into(), "sh".into()];
            inner.extend(self.packages.iter().cloned());
            steps.push(Step::run(
                &server.name,
                format!("install packages in {name}"),
                lxc::attach_argv(server, &name, &inner),
            ));
            steps.extend(lxc::stop_steps(server, &name));
        }
        steps.push(Step::write_file(
            &server.name,
            format!("static networking (no DHCP client) in {name}"),
            format!("{p}/{name}/rootfs/etc/network/interfaces"),
            0o644,
            Content::text(INTERFACES),
        ));
        steps.push(Step::write_file(
            &server.name,
            format!("mark image {name} as complete"),
            format!("{p}/{name}/{IMAGE_COMPLETE}"),
            0o644,
            Content::text("built by flockport; containers are cloned only from images with this file\n"),
        ));
        steps
    }

    /// Steps that make the image ready on a server as `facts` show it:
    /// nothing when it is complete; a build when it is missing; when a
    /// build was cut short (no [`IMAGE_COMPLETE`] marker), the half-built
    /// one destroyed first and built again.
    pub fn ensure_steps(&self, server: &ServerConfig, facts: &ServerFacts) -> Vec<Step> {
        let name = self.template_name(server);
        match facts.container(&name) {
            Some(c) if c.image_complete => Vec::new(),
            Some(_) => {
                let mut steps = lxc::destroy_steps(server, &name);
                if let Some(first) = steps.first_mut() {
                    first.description = format!("destroy the half-built image {name} (its build did not finish)");
                }
                steps.extend(self.build_steps(server));
                steps
            }
            None => self.build_steps(server),
        }
    }

    /// Undo steps if a build fails half-way.
    pub fn rollback_steps(&self, server: &ServerConfig) -> Vec<Step> {
        lxc::destroy_steps(server, &self.template_name(server))
    }
}

fn display_packages(p: &[String]) -> String {
    if p.is_empty() {
        "none".into()
    } else {
        p.join(", ")
    }
}
