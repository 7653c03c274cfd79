// Package safefile opens files xpflow did not necessarily write itself
// (outputs under out/ that a user or another program may have replaced)
// without the hazards of a plain os.Open: a FIFO with no writer would block
// the open forever, and a symbolic link could point anywhere, /dev/zero
// included. Callers still check that what they opened is the regular file
// they looked at (os.SameFile) and bound their reads.
package safefile
