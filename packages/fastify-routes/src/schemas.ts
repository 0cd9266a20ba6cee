import { MAX_NODE_ID_LENGTH } from '@kommander/core';

const integer = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const nodeId = { type: 'string', maxLength: MAX_NODE_ID_LENGTH } as const;

/** Every 4xx/5xx answer: what is wrong and what to do. */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string' },
    path: { type: 'string' },
  },
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  413: errorSchema,
  415: errorSchema,
  421: errorSchema,
  503: errorSchema,
} as const;

export const acceptedSchema = {
  type: 'object',
  required: ['accepted'],
  properties: { accepted: { ...integer, description: 'Messages handed to the node' } },
} as const;

export const partitionStatusSchema = {
  type: 'object',
  required: ['partition', 'role', 'leader', 'term', 'vote', 'commitIndex', 'appliedIndex', 'firstIndex', 'lastIndex', 'restoring', 'queuedProposals'],
  properties: {
    partition: integer,
    role: { type: 'string' },
    leader: { ...nodeId, description: "'' when unknown" },
    term: integer,
    vote: nodeId,
    commitIndex: integer,
    appliedIndex: integer,
    firstIndex: integer,
    lastIndex: integer,
    restoring: { type: 'boolean' },
    queuedProposals: integer,
  },
} as const;

export const nodeStatusSchema = {
  type: 'object',
  required: ['node', 'members', 'partitions', 'leaderOf'],
  properties: {
    node: nodeId,
    members: { type: 'array', items: nodeId },
    partitions: { ...integer, description: 'How many partitions the node hosts, the system partition 0 included' },
    leaderOf: { type: 'array', items: integer, description: 'Partitions this node currently leads' },
  },
} as const;

export const partitionListSchema = {
  type: 'object',
  required: ['partitions'],
  properties: { partitions: { type: 'array', items: partitionStatusSchema } },
} as const;

export const leaderSchema = {
  type: 'object',
  required: ['partition', 'leader', 'known', 'term'],
  properties: {
    partition: integer,
    leader: { ...nodeId, description: "'' when no leader is known" },
    known: { type: 'boolean' },
    term: integer,
  },
} as const;

export const partitionParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['partition'],
  properties: { partition: { type: 'string', description: 'A partition id: a non-negative decimal integer' } },
} as const;
