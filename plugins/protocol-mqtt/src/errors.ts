/** MQTT 5.0 reason codes (§2.4) used by the broker, and their MQTT 3.1.1 CONNACK equivalents. */
export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  continueAuthentication: 0x18,
  reAuthenticate: 0x19,
  unspecifiedError: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecificError: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUsernameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  banned: 0x8a,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierInUse: 0x91,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  useAnotherServer: 0x9c,
  serverMoved: 0x9d,
  sharedSubscriptionsNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
  maximumConnectTime: 0xa0,
  subscriptionIdentifiersNotSupported: 0xa1,
  wildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1 / 3.1.1 CONNACK return codes (§3.2.2.3). */
export const RC3 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

/** Maps a 5.0 CONNACK reason code to the closest 3.1.1 return code. */
export function connackCodeV3(reason: number): number {
  switch (reason) {
    case RC.success:
      return RC3.accepted;
    case RC.unsupportedProtocolVersion:
      return RC3.unacceptableProtocolVersion;
    case RC.clientIdentifierNotValid:
      return RC3.identifierRejected;
    case RC.badUsernameOrPassword:
      return RC3.badUsernameOrPassword;
    case RC.notAuthorized:
    case RC.banned:
    case RC.badAuthenticationMethod:
      return RC3.notAuthorized;
    default:
      return RC3.serverUnavailable;
  }
}

/**
 * A protocol failure on one connection. The connection closes it with `code` (5.0 DISCONNECT or
 * CONNACK reason code) and counts `kind` in the malformed/violation metric.
 */
export class MqttProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'MqttProtocolError';
  }
}

/** Classifies a mqtt-packet parser error into the 5.0 reason code the spec asks for. */
export function parserErrorCode(message: string): number {
  if (/protocol version/i.test(message)) return RC.unsupportedProtocolVersion;
  if (/protocolId/i.test(message)) return RC.unsupportedProtocolVersion;
  return RC.malformedPacket;
}
