import v8 from 'node:v8';

// V8's allocation-site pretenuring, switched off before anything else is loaded. When a burst of
// requests finds many young objects alive at a scavenge (50 connections at once after a quiet
// minute is enough), V8 may decide that the sites allocating them make long-lived objects and
// allocate them in the old generation from then on. A request's objects die within the request,
// so the old generation then fills in a few hundred milliseconds and is marked and compacted over
// and over by the GC threads: measured here, about 1 in 5 fresh server processes fell into that state
// at random and used 1.5 to 2 times the CPU per request (GC helper threads at about 9% each) for
// as long as they ran. With this setting none of 28 did. Nothing else in Gatehouse lives in the
// pattern pretenuring is for (large, long-lived structures built in one burst).
v8.setFlagsFromString('--no-allocation-site-pretenuring');
