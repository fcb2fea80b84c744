// Shapes of the review API's JSON, for JSDoc type checks only (this module exports nothing at run time).

/**
 * @typedef {object} Session
 * @property {string} role
 * @property {string | null} operator
 * @property {string} csrfToken
 * @property {string} expiresAt
 */

/**
 * @typedef {object} EvidencePerson
 * @property {number[]} recordIds
 * @property {number} connections
 * @property {number[]} clusters face clusters holding the subscriber's records
 */

/**
 * @typedef {object} ClusterEvidence
 * @property {number} [identities]
 * @property {number} [connections]
 * @property {number} [simCap]
 * @property {EvidencePerson[]} [persons] the subscribers the cluster's records belong to
 */

/**
 * @typedef {object} ClusterSummary
 * @property {number} id
 * @property {number} size
 * @property {string[]} reasons
 * @property {ClusterEvidence & Record<string, unknown>} evidence
 * @property {boolean} flagged
 * @property {number} score
 * @property {string} updatedAt
 * @property {string[]} [operators]
 * @property {string[]} [lsas]
 * @property {number} [pending]
 */

/**
 * @typedef {object} ClusterList
 * @property {ClusterSummary[]} items
 * @property {number} total
 * @property {string | null} next_cursor
 */

/**
 * @typedef {object} ClusterMember
 * @property {number} faceId
 * @property {number} recordId
 * @property {string} operator
 * @property {string} msisdn
 * @property {string} name
 * @property {string | null} [fatherName]
 * @property {string | null} dob
 * @property {string} idType
 * @property {string} idMasked
 * @property {string} lsa
 * @property {string} posAgentId
 * @property {string} activationDate
 * @property {number | null} meanDistance
 * @property {string} thumbnailUrl
 * @property {string} [photoUrl]
 */

/**
 * @typedef {object} BlockCandidate
 * @property {number} id
 * @property {string} msisdn
 * @property {string} operator
 * @property {string} status
 * @property {string[]} reasons
 * @property {number} score
 * @property {string | null} [decisionReason]
 * @property {string | null} [decidedAt]
 * @property {string | null} [decidedBy]
 * @property {string | null} [source]
 */

/**
 * @typedef {object} ScorePart
 * @property {string} part face, conflict, context, connections, document or photo
 * @property {number} value 0..1
 * @property {string} text what the part means, in words
 */

/**
 * @typedef {object} Explanation
 * @property {string} reason
 * @property {string} text
 * @property {number} [score] score of the strongest finding behind the reason
 * @property {ScorePart[]} [parts]
 */

/**
 * @typedef {object} ClusterDetail
 * @property {number} id
 * @property {number} size
 * @property {string[]} reasons
 * @property {ClusterEvidence & Record<string, unknown>} evidence
 * @property {boolean} flagged
 * @property {number} score
 * @property {string} updatedAt
 * @property {ClusterMember[]} members
 * @property {number[][]} [distances]
 * @property {number} [threshold]
 * @property {number[][]} [nameSimilarity]
 * @property {Explanation[]} [explanations]
 * @property {BlockCandidate[]} [candidates]
 */

/**
 * @typedef {{ action: 'confirm', msisdns?: string[], source?: 'analysis' | 'law_enforcement' | 'bank', note?: string }
 *   | { action: 'dismiss', reason: 'different_people' | 'legitimate_use' | 'bad_photo', msisdns?: string[], note?: string }
 *   | { action: 'keep', keep: string[] }
 *   | { action: 'split', faceIds: number[] }
 *   | { action: 'merge', otherClusterId: number }} Decision
 */

/**
 * @typedef {object} Agent
 * @property {string} operator
 * @property {string} posAgentId
 * @property {number} enrolments
 * @property {number} flaggedEnrolments
 * @property {number} risk
 */

/**
 * @typedef {object} Enrolment
 * @property {number} recordId
 * @property {string} msisdn
 * @property {string} name
 * @property {number | null} clusterId
 * @property {string[]} reasons
 * @property {string} status
 */

/**
 * @typedef {object} ExportRecord
 * @property {number} id
 * @property {string} operator
 * @property {number} rowCount
 * @property {string} csvSha256
 * @property {string} jsonSha256
 * @property {string} createdAt
 * @property {string | null} createdBy
 */

/**
 * @typedef {object} Operator
 * @property {number} id
 * @property {string} code
 * @property {string} name
 */

export {};
