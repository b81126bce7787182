"""Closing note of issue 19: the six kinds of model opened and matched to torch (prints each max relative error). Run: python tests/engine/six_models_check.py"""
import numpy as np, torch, warnings; import sys; sys.path.insert(0,'.')
from unrolled import engine
torch.manual_seed(0); F=torch.nn.functional
def err(tr, loss, mods):
    e=abs(tr.loss-loss.item())/abs(loss.item())
    for m,pre in mods:
        for n,p in m.named_parameters(): e=max(e, np.abs(tr.grads[pre+n if pre else n]-p.grad.numpy()).max()/np.abs(p.grad.numpy()).max())
    return e
# 1 embedding LSTM
emb=torch.nn.Embedding(11,4).double(); rnn=torch.nn.LSTM(4,5).double(); fc=torch.nn.Linear(5,3).double()
ids=torch.randint(0,11,(6,2)); y=torch.randint(0,3,(6,2)); o,_=rnn(emb(ids)); L=sum(F.cross_entropy(fc(o[t]),y[t]) for t in range(6)); L.backward()
tr=engine.Network.from_torch(rnn,fc,emb).run(ids.numpy(),y.numpy()); print("embedding LSTM", err(tr,L,[(rnn,""),]))
# 2 batch-first stacked LSTM
rnn=torch.nn.LSTM(3,5,2,batch_first=True).double(); fc=torch.nn.Linear(5,3).double(); x=torch.randn(2,6,3,dtype=torch.float64); y=torch.randint(0,3,(2,6))
o,_=rnn(x); L=sum(F.cross_entropy(fc(o[:,t]),y[:,t]) for t in range(6)); L.backward()
tr=engine.Network.from_torch(rnn,fc).run(x.numpy(),y.numpy()); print("batch-first stacked LSTM", err(tr,L,[(rnn,"")]))
# 3 bidirectional GRU classifier on h_n, padded
rnn=torch.nn.GRU(3,5,2,bidirectional=True).double(); fc=torch.nn.Linear(10,3).double(); x=torch.randn(6,3,3,dtype=torch.float64); y=torch.tensor([0,2,1]); lens=[6,2,4]
_,hn=rnn(torch.nn.utils.rnn.pack_padded_sequence(x,torch.tensor(lens),enforce_sorted=False)); L=F.cross_entropy(fc(torch.cat([hn[-2],hn[-1]],1)),y); L.backward()
tr=engine.Network.from_torch(rnn,fc,readout="final_state").run(x.numpy(),y.numpy(),lengths=lens); print("bi GRU classifier on h_n (padded)", err(tr,L,[(rnn,"")]))
# 4 proj_size
try: engine.Network.from_torch(torch.nn.LSTM(3,8,proj_size=4))
except ValueError as e: print("proj_size refused:", e)
# 5 padded bidirectional batch, token_mean
rnn=torch.nn.LSTM(3,5,bidirectional=True).double(); fc=torch.nn.Linear(10,3).double(); y=torch.randint(0,3,(6,3))
out,_=rnn(torch.nn.utils.rnn.pack_padded_sequence(x,torch.tensor(lens),enforce_sorted=False)); out,_=torch.nn.utils.rnn.pad_packed_sequence(out)
mask=torch.arange(6)[:,None]<torch.tensor(lens)[None]; L=F.cross_entropy(fc(out)[mask],y[mask]); L.backward()
tr=engine.Network.from_torch(rnn,fc).run(x.numpy(),y.numpy(),lengths=lens,loss_reduction="token_mean"); print("padded bi batch token_mean", err(tr,L,[(rnn,"")]))
# 6 LSTMCell loop
cell=torch.nn.LSTMCell(3,5).double(); h=c=torch.zeros(3,5,dtype=torch.float64); ys=torch.randint(0,5,(6,3)); L=0
for t in range(6): h,c=cell(x[t],(h,c)); L=L+F.cross_entropy(h,ys[t])
L.backward(); tr=engine.Network.from_torch(cell).run(x.numpy(),ys.numpy())
print("LSTMCell loop", max(abs(tr.loss-L.item()), *[np.abs(tr.grads[n+"_l0"]-p.grad.numpy()).max() for n,p in cell.named_parameters()]))
