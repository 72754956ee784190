//! Request congestion window (`dht-rpc lib/io.js: CongestionWindow`): four 750 ms slots, full at
//! `maxWindow` in the current slot or `2 * maxWindow` in total.

pub const DEFAULT_MAX_WINDOW: u32 = 80;

#[derive(Debug, Clone)]
pub struct CongestionWindow {
    slots: [u32; 4],
    i: usize,
    total: u32,
    max: u32,
}

impl CongestionWindow {
    pub fn new(max: u32) -> Self {
        CongestionWindow {
            slots: [0; 4],
            i: 0,
            total: 0,
            max,
        }
    }

    pub fn is_full(&self) -> bool {
        self.total >= 2 * self.max || self.slots[self.i] >= self.max
    }

    pub fn send(&mut self) {
        self.total += 1;
        self.slots[self.i] += 1;
    }

    pub fn recv(&mut self) {
        if self.slots[self.i] > 0 {
            self.slots[self.i] -= 1;
            self.total -= 1;
        }
    }

    pub fn drain(&mut self) {
        self.i = (self.i + 1) & 3;
        self.total -= self.slots[self.i];
        self.slots[self.i] = 0;
    }
}
