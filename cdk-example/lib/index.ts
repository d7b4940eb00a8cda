export * from './provider';
export * from './security-hub-member-account';
export * from './stackset';
