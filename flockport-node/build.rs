//! Links the addon the way Node expects (napi-build), and lets the napi CLI
//! collect the TypeScript definitions of index.d.ts.

fn main() {
    napi_build::setup();
}
