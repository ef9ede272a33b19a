export * from './registry';
export { publishToPm2, underPm2 } from './pm2';
