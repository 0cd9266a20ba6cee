import { seedSuite } from './seed-suite.js';

seedSuite({ from: 200_001, count: 250, nodes: 3, partitions: 3 });
