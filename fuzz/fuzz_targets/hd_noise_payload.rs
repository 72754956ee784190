#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hyperdht_fuzz_targets::hd_noise_payload::run(data));
