#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hyperdht_fuzz_targets::noise_ik::run(data));
