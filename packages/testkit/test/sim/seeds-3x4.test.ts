import { seedSuite } from './seed-suite.js';

seedSuite({ from: 1, count: 250, nodes: 3, partitions: 4 });
