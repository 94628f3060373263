export { type AdminSource, AdminServer, type PluginStatus } from './server.js';
