import { seedSuite } from './seed-suite.js';

seedSuite({ from: 300_001, count: 250, nodes: 5, partitions: 4 });
