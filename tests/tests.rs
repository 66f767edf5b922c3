//! jclake's integration tests, one binary (linked once on a 2-core machine): every module
//! uses the harness in `util`.

mod util;

mod architecture;
mod change;
mod events;
mod evolution;
mod export;
mod families;
mod golden;
mod lake;
mod legacy;
mod orgs;
mod restart;
mod source;
