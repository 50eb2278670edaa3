// Pose gates shared by the markers and the hair band placement. Pure constants.

/** Pose gates, degrees / keypoint confidences. Frontal-only measures need a frontal head. */
export const GATES = {
  identityMaxYaw: 50,
  noseMaxYaw: 30,
  noseMaxPitch: 20,
  neckMaxYaw: 50,
  neckMaxPitch: 20,
  shoulderMinScore: 0.3,
  shoulderMaxTilt: 20,
  headKeypointMinScore: 0.3,
} as const;
