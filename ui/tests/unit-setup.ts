// Unit tests run in UTC so formatted local times are the same on every machine.
process.env.TZ = 'UTC';
