//! The job scheduler's placement engine: pure (no I/O, no clock, no
//! randomness), deterministic. In: each server's capacity and what is
//! already placed on it, and one request (COUNT instances of a size, with
//! the seed's `-n` network, `-g` group, `-r` replicas and `-s` strategy).
//! Out: the server of each new instance, or an error naming what was short
//! and where; nothing is placed unless everything is.
//!
//! Strategy `resource` (the seed's only one): each instance, or each chunk
//! of `replicas` instances, goes to the server that can hold it and is left
//! freest once it does: the largest smallest share left of its memory, CPU
//! and disk, compared among the [`CANDIDATES`] freest servers that can hold
//! it (Nomad's "score a few candidates"; ties: the freer before, then the
//! server's name). Every
//! rule is a hard constraint: memory and disk are never overcommitted; CPU
//! is a share that may be, up to [`Policy::cpu_overcommit`] times a
//! server's CPUs; a server without the requested network is not feasible;
//! a group's instances all go to its server; with replicas, each chunk goes
//! to a server of its own.
//!
//! Speed: [`Scheduler`] keeps a max-heap of servers by how free they are
//! (the smallest share left of memory, CPU and disk) across requests, so an
//! instance costs O(log n): a server popped but unable to hold it is set
//! aside and pushed back after; a changed server is pushed again with a new
//! version and its old entry dropped when popped. A failed request gives
//! back what it took.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// How much one server has (what its probe read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// The server's name.
    pub server: String,
    /// Memory, MiB.
    pub memory_mib: u64,
    /// CPUs, in thousandths (2 CPUs = 2000).
    pub cpu_milli: u64,
    /// Disk, MiB.
    pub disk_mib: u64,
    /// The bridges (networks) containers can join there.
    pub networks: BTreeSet<String>,
}

/// An instance's size (its limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// Memory, MiB.
    pub memory_mib: u64,
    /// CPU share, thousandths of a CPU.
    pub cpu_milli: u64,
    /// Disk, MiB.
    pub disk_mib: u64,
}

/// An instance already placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Its server.
    pub server: String,
    /// Its size.
    pub size: Size,
    /// Its job's group, if any.
    pub group: Option<String>,
}

/// The placement strategy (`-s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The feasible server with the most free capacity for the size.
    #[default]
    Resource,
}

/// One `addjob`/`scalejob`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// How many new instances.
    pub count: u32,
    /// Each one's size.
    pub size: Size,
    /// `-n`: the network every instance joins.
    pub network: Option<String>,
    /// `-g`: the group, whose instances share one server.
    pub group: Option<String>,
    /// `-r`: instances per chosen server (the last chunk takes the remainder).
    pub replicas: Option<u32>,
    /// `-s`.
    pub strategy: Strategy,
}

/// Limits that are policy, not measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// How many times its CPUs a server's instances' CPU shares may add up to.
    pub cpu_overcommit: f64,
}

/// The default: CPU shares up to 4x a server's CPUs; memory and disk never
/// overcommitted.
pub const DEFAULT_POLICY: Policy = Policy { cpu_overcommit: 4.0 };

/// Why a request cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// The request itself is wrong (count 0, replicas 0).
    #[error("{0}")]
    Invalid(String),
    /// Not enough room: what was short and where, and how many would fit.
    #[error("{reason}")]
    NoRoom {
        /// What was short and where.
        reason: String,
        /// How many instances of the request the cluster could take.
        fits: u32,
    },
}

/// What is left on one server.
#[derive(Debug, Clone)]
struct Free {
    memory: i128,
    cpu: i128,
    disk: i128,
    cap: (u64, u64, u64),
}

impl Free {
    fn fits(&self, s: Size) -> bool {
        self.memory >= i128::from(s.memory_mib)
            && self.cpu >= i128::from(s.cpu_milli)
            && self.disk >= i128::from(s.disk_mib)
    }
    fn take(&mut self, s: Size) {
        self.memory -= i128::from(s.memory_mib);
        self.cpu -= i128::from(s.cpu_milli);
        self.disk -= i128::from(s.disk_mib);
    }
    fn give(&mut self, s: Size) {
        self.memory += i128::from(s.memory_mib);
        self.cpu += i128::from(s.cpu_milli);
        self.disk += i128::from(s.disk_mib);
    }
    /// How many instances of size `s` still fit.
    fn room(&self, s: Size) -> u64 {
        let per = |free: i128, need: u64| if need == 0 { u64::MAX } else { (free.max(0) / i128::from(need)) as u64 };
        per(self.memory, s.memory_mib).min(per(self.cpu, s.cpu_milli)).min(per(self.disk, s.disk_mib))
    }
    /// [`Free::score`] once `s` more is there.
    fn score_after(&self, s: Size) -> i64 {
        let share = |free: i128, need: u64, cap: u64| {
            if cap == 0 {
                0
            } else {
                ((free - i128::from(need)) * 1_000_000 / i128::from(cap)) as i64
            }
        };
        share(self.memory, s.memory_mib, self.cap.0)
            .min(share(self.cpu, s.cpu_milli, self.cap.1))
            .min(share(self.disk, s.disk_mib, self.cap.2))
    }

    /// How free the server is: the smallest share left of its memory, CPU
    /// and disk, in millionths (a resource it has none of counts as full,
    /// so it ranks last; whether an instance fits is checked apart).
    fn score(&self) -> i64 {
        let share = |free: i128, cap: u64| if cap == 0 { 0 } else { (free * 1_000_000 / i128::from(cap)) as i64 };
        share(self.memory, self.cap.0).min(share(self.cpu, self.cap.1)).min(share(self.disk, self.cap.2))
    }
}

/// How many feasible servers, freest first, a placement compares by how
/// free each would be left (Nomad's "score a few candidates"): 32 packs
/// within 1.02x of the exact optimum in bench/scheduler, 8 within 1.09x.
pub const CANDIDATES: usize = 32;

/// A heap entry: the higher score first, then the lower index (name
/// order); `version` tells a stale entry (the server changed since).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    score: i64,
    index: usize,
    version: u64,
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.score.cmp(&o.score).then_with(|| o.index.cmp(&self.index))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The engine with what is placed so far; each successful [`Scheduler::place`]
/// adds its instances, so a stream of requests costs O(log n) per instance
/// (the bench's 100,000 instances on 5,000 servers).
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Servers by name.
    servers: Vec<Capacity>,
    free: Vec<Free>,
    version: Vec<u64>,
    /// A heap of every server (key `None`) and one per network of the
    /// servers that have it, so a request on a rare network pops only
    /// its servers.
    heaps: BTreeMap<Option<String>, BinaryHeap<Entry>>,
    groups: BTreeMap<String, usize>,
}

impl Scheduler {
    /// The engine for `servers` (any order) with `placed` already there.
    /// CPU capacity is the servers' CPUs times `policy.cpu_overcommit`.
    pub fn new(servers: &[Capacity], placed: &[Placed], policy: Policy) -> Scheduler {
        let mut servers = servers.to_vec();
        servers.sort_by(|a, b| a.server.cmp(&b.server));
        let index: BTreeMap<&str, usize> = servers.iter().enumerate().map(|(i, c)| (c.server.as_str(), i)).collect();
        let mut free: Vec<Free> = servers
            .iter()
            .map(|c| {
                let cpu = (c.cpu_milli as f64 * policy.cpu_overcommit).floor() as u64;
                Free {
                    memory: i128::from(c.memory_mib),
                    cpu: i128::from(cpu),
                    disk: i128::from(c.disk_mib),
                    cap: (c.memory_mib, cpu, c.disk_mib),
                }
            })
            .collect();
        let mut groups = BTreeMap::new();
        for p in placed {
            if let Some(&i) = index.get(p.server.as_str()) {
                free[i].take(p.size);
                if let Some(g) = &p.group {
                    groups.insert(g.clone(), i);
                }
            }
        }
        let version = vec![0; servers.len()];
        let mut s = Scheduler { servers, free, version, heaps: BTreeMap::new(), groups };
        s.rebuild();
        s
    }

    /// Every heap anew from the servers' current state (at the start, and
    /// when stale entries outnumber the live ones).
    fn rebuild(&mut self) {
        let mut heaps: BTreeMap<Option<String>, BinaryHeap<Entry>> = BTreeMap::new();
        for (i, f) in self.free.iter().enumerate() {
            let e = Entry { score: f.score(), index: i, version: self.version[i] };
            heaps.entry(None).or_default().push(e.clone());
            for n in &self.servers[i].networks {
                heaps.entry(Some(n.clone())).or_default().push(e.clone());
            }
        }
        self.heaps = heaps;
    }

    fn name(&self, i: usize) -> String {
        self.servers[i].server.clone()
    }

    fn on_network(&self, i: usize, req: &Request) -> bool {
        req.network.as_ref().map_or(true, |n| self.servers[i].networks.contains(n))
    }

    /// Takes `n` instances of `size` on server `i` (or gives them back).
    fn adjust(&mut self, i: usize, size: Size, n: u32, take: bool) {
        for _ in 0..n {
            if take {
                self.free[i].take(size);
            } else {
                self.free[i].give(size);
            }
        }
        self.version[i] += 1;
        let e = Entry { score: self.free[i].score(), index: i, version: self.version[i] };
        if let Some(h) = self.heaps.get_mut(&None) {
            h.push(e.clone());
            if h.len() > 4 * self.servers.len() + 64 {
                self.rebuild();
                return;
            }
        }
        for n in &self.servers[i].networks {
            if let Some(h) = self.heaps.get_mut(&Some(n.clone())) {
                h.push(e.clone());
            }
        }
    }

    /// The freest server on the request's network, not in `skip`, that
    /// holds `want` (stale heap entries dropped, the others put back).
    fn freest(&mut self, req: &Request, want: Size, skip: &[usize]) -> Option<usize> {
        let mut heap = self.heaps.remove(&req.network)?;
        let mut aside = Vec::new();
        // The first CANDIDATES that can hold it, freest first; of those,
        // the one left freest once it holds it (the servers differ in size).
        let mut found: Option<(i64, usize)> = None;
        let mut seen = 0;
        while seen < CANDIDATES {
            match heap.pop() {
                None => break,
                Some(e) if e.version != self.version[e.index] => {}
                Some(e) if !skip.contains(&e.index) && self.free[e.index].fits(want) => {
                    seen += 1;
                    let after = self.free[e.index].score_after(want);
                    // The first of equals, in heap order, stays.
                    if found.map_or(true, |(best, _)| after > best) {
                        found = Some((after, e.index));
                    }
                    aside.push(e);
                }
                Some(e) => aside.push(e),
            }
        }
        heap.extend(aside);
        let found = found.map(|(_, i)| i);
        self.heaps.insert(req.network.clone(), heap);
        found
    }

    /// How many instances of the request the feasible servers could take:
    /// all their room; with replicas `r`, `r` on each server with room for
    /// `r`, and the remainder (less than `r`) on one more.
    fn fits(&self, req: &Request) -> u64 {
        let rooms = (0..self.servers.len())
            .filter(|&i| self.on_network(i, req))
            .map(|i| self.free[i].room(req.size).min(u64::from(u32::MAX)));
        match req.replicas.map(u64::from) {
            None => rooms.sum(),
            Some(r) => {
                let (full, rest): (Vec<u64>, Vec<u64>) = rooms.partition(|&room| room >= r);
                r * full.len() as u64 + rest.into_iter().max().unwrap_or(0)
            }
        }
    }

    /// Places `req`'s instances and keeps them; the server of each, in
    /// order. On an error nothing is kept.
    pub fn place(&mut self, req: &Request) -> Result<Vec<String>, PlacementError> {
        if req.count == 0 {
            return Err(PlacementError::Invalid("COUNT must be at least 1".into()));
        }
        if req.replicas == Some(0) {
            return Err(PlacementError::Invalid("-r (replicas) must be at least 1".into()));
        }
        let Strategy::Resource = req.strategy;
        let size = req.size;
        let what = || format!("{} MiB, {} mCPU, {} MiB disk", size.memory_mib, size.cpu_milli, size.disk_mib);
        let short =
            |fits: u64, reason: String| PlacementError::NoRoom { reason, fits: fits.min(u64::from(u32::MAX)) as u32 };
        if let Some(g) = &req.group {
            let i = match self.groups.get(g) {
                // A group already placed: everything on its server.
                Some(&i) => {
                    if !self.on_network(i, req) {
                        let net = req.network.clone().unwrap_or_default();
                        return Err(short(0, format!("group {g} is on {}, which has no network {net}", self.name(i))));
                    }
                    let room = self.free[i].room(size);
                    if room < u64::from(req.count) {
                        return Err(short(
                            room,
                            format!(
                                "group {g} is on {}, which has room for {room} more instance(s) of {}, not {}",
                                self.name(i),
                                what(),
                                req.count
                            ),
                        ));
                    }
                    i
                }
                // A new group: the freest server that holds all of it.
                None => {
                    let all = Size {
                        memory_mib: size.memory_mib * u64::from(req.count),
                        cpu_milli: size.cpu_milli * u64::from(req.count),
                        disk_mib: size.disk_mib * u64::from(req.count),
                    };
                    match self.freest(req, all, &[]) {
                        Some(i) => i,
                        None => {
                            let most = (0..self.servers.len())
                                .filter(|&i| self.on_network(i, req))
                                .map(|i| self.free[i].room(size))
                                .max()
                                .unwrap_or(0);
                            return Err(short(
                                most,
                                format!(
                                    "group {g} needs one server with room for {} instances of {}; the roomiest has room for {most}",
                                    req.count,
                                    what()
                                ),
                            ));
                        }
                    }
                }
            };
            self.adjust(i, size, req.count, true);
            self.groups.insert(g.clone(), i);
            return Ok(vec![self.name(i); req.count as usize]);
        }

        let chunk = req.replicas.unwrap_or(1);
        let mut out: Vec<(usize, u32)> = Vec::new();
        let mut left = req.count;
        let mut failed = false;
        while left > 0 {
            let n = chunk.min(left);
            let want = Size {
                memory_mib: size.memory_mib * u64::from(n),
                cpu_milli: size.cpu_milli * u64::from(n),
                disk_mib: size.disk_mib * u64::from(n),
            };
            // With replicas, a server this request used is not chosen again.
            let used: Vec<usize> =
                if req.replicas.is_some() { out.iter().map(|(i, _)| *i).collect() } else { Vec::new() };
            let Some(i) = self.freest(req, want, &used) else {
                failed = true;
                break;
            };
            self.adjust(i, size, n, true);
            out.push((i, n));
            left -= n;
        }
        if failed {
            for &(i, n) in &out {
                self.adjust(i, size, n, false);
            }
            let fits = self.fits(req);
            let reason = match req.replicas {
                Some(r) => format!(
                    "-r {r} needs {} servers each with room for {r} instances of {}; {} had room",
                    req.count.div_ceil(r),
                    what(),
                    out.len()
                ),
                None if req.network.is_some()
                    && fits == 0
                    && !(0..self.servers.len()).any(|i| self.on_network(i, req)) =>
                {
                    format!("no server has network {}", req.network.clone().unwrap_or_default())
                }
                None => format!("the cluster has room for {fits} more instance(s) of {}, not {}", what(), req.count),
            };
            return Err(short(fits, reason));
        }
        Ok(out.iter().flat_map(|&(i, n)| std::iter::repeat(self.name(i)).take(n as usize)).collect())
    }
}

/// Places `req`'s instances on `servers` given what is `placed` already;
/// the server of each new instance, in order. Deterministic: the same
/// inputs (servers in any order) give the same answer.
pub fn place(
    servers: &[Capacity],
    placed: &[Placed],
    req: &Request,
    policy: Policy,
) -> Result<Vec<String>, PlacementError> {
    Scheduler::new(servers, placed, policy).place(req)
}

/// The placement's violations of the hard rules (for tests and the bench):
/// each server over memory, disk or CPU (with overcommit) once `new` is
/// added to `placed`.
pub fn violations(servers: &[Capacity], placed: &[Placed], new: &[(String, Size)], policy: Policy) -> Vec<String> {
    let mut used: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for (server, size) in
        placed.iter().map(|p| (p.server.as_str(), p.size)).chain(new.iter().map(|(s, z)| (s.as_str(), *z)))
    {
        let u = used.entry(server).or_default();
        u.0 += size.memory_mib;
        u.1 += size.cpu_milli;
        u.2 += size.disk_mib;
    }
    let mut out = Vec::new();
    for c in servers {
        let (m, cpu, d) = used.get(c.server.as_str()).copied().unwrap_or_default();
        let cpu_cap = (c.cpu_milli as f64 * policy.cpu_overcommit).floor() as u64;
        if m > c.memory_mib || d > c.disk_mib || cpu > cpu_cap {
            out.push(format!(
                "{}: memory {m}/{}, cpu {cpu}/{cpu_cap}, disk {d}/{}",
                c.server, c.memory_mib, c.disk_mib
            ));
        }
    }
    out
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
