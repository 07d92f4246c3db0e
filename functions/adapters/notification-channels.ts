/** The notification channels a deployment can choose (context `notificationChannel`). */
export const NOTIFICATION_CHANNELS = ['table', 'sns'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
