-- PoS agents ranked by the share of their enrolments that landed in flagged face clusters.
CREATE VIEW pos_agent_risk AS
SELECT r.operator_id,
       r.pos_agent_id,
       count(DISTINCT r.id)::integer AS enrolments,
       (count(DISTINCT r.id) FILTER (WHERE c.flagged))::integer AS flagged_enrolments,
       round((count(DISTINCT r.id) FILTER (WHERE c.flagged))::numeric / count(DISTINCT r.id), 4)::real AS risk
FROM kyc_records r
LEFT JOIN faces f ON f.record_id = r.id
LEFT JOIN cluster_members m ON m.face_id = f.id
LEFT JOIN clusters c ON c.id = m.cluster_id
GROUP BY r.operator_id, r.pos_agent_id;
