/*
 * paloalto.h: lumu-to-paloalto, the seed script's command line
 * (contract section 7): one Lumu read, the daemon's selection and
 * rendering, a push to one PAN-OS device, then exit.
 */
#ifndef PALOALTO_H
#define PALOALTO_H

/* Exit status: 0 done, 1 a run-time failure, 2 a usage error. */
int	paloalto_main(int argc, char **argv);

#endif
