//! The job scheduler (Flockport's "Job scheduler" section): `addjob`,
//! `listjobs`, `upgradejob`, `scalejob`, `deljob`. So far its placement
//! engine ([`placement`]), pure and property-tested; the verbs that take
//! snapshots, clone instances and roll them are to come (issue 16).

pub mod placement;
